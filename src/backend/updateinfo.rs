//! RPM repository update notices (`updateinfo.xml`), shared by the dnf and yum backends.
//!
//! dnf 4's `updateinfo info` prints neither the issued date nor `reboot_suggested`, and yum 3
//! prints even less, so the notices are read from the metadata the package manager itself
//! downloaded into its cache: `repodata/repomd.xml` names the updateinfo file, which may be plain,
//! gzip, xz or zstd compressed (recognised by its magic bytes, not its name).
//!
//! The format is modelled leniently: unknown elements and attributes are skipped, missing ones are
//! left empty, and a date that cannot be read is left out (the engine then treats the notice as
//! having no release date) rather than failing the scan.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{Error, Result};
use crate::model::{Advisory, AdvisoryPackage};

/// Parse an updateinfo document. `keep` sees every package of every notice and says whether it
/// matters to this system; notices left with no package are dropped, so a repository with tens
/// of thousands of notices costs memory only for the ones that name something installed or
/// available. `source` names the document in errors.
pub fn parse_updateinfo<R: BufRead>(
    reader: R,
    source: &str,
    keep: &dyn Fn(&AdvisoryPackage) -> bool,
) -> Result<Vec<Advisory>> {
    // Text is trimmed once collected: trimming each event would eat the spaces around `&amp;`.
    let mut xml = Reader::from_reader(reader);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    // The notice being read.
    let mut current: Option<Advisory> = None;
    // Text of the innermost element being collected (id, severity, reboot_suggested).
    let mut text: Option<(TextField, String)> = None;
    let mut package: Option<(AdvisoryPackage, bool)> = None;
    // reboot_suggested at notice level (SUSE) rather than per package.
    let mut notice_reboot = false;

    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| {
            Error::failed(format!(
                "{source}: not valid updateinfo XML at byte {}: {e}",
                xml.buffer_position()
            ))
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    b"update" => {
                        let kind = attr(e, b"type").unwrap_or_default();
                        current = Some(Advisory {
                            id: String::new(),
                            classification: classification(&kind),
                            severity: None,
                            issued: None,
                            updated: None,
                            cves: Vec::new(),
                            bugzillas: Vec::new(),
                            reboot_suggested: false,
                            packages: Vec::new(),
                        });
                        notice_reboot = false;
                    }
                    b"id" if current.is_some() && package.is_none() && !empty => {
                        text = Some((TextField::Id, String::new()))
                    }
                    b"severity" if current.is_some() && !empty => {
                        text = Some((TextField::Severity, String::new()))
                    }
                    b"reboot_suggested" if current.is_some() && !empty => {
                        text = Some((TextField::Reboot, String::new()))
                    }
                    // SUSE writes `<issued date="…"/>`, some tools `<issued>…</issued>`.
                    b"issued" | b"updated" if current.is_some() => {
                        let field = if e.local_name().as_ref() == b"issued" {
                            TextField::Issued
                        } else {
                            TextField::Updated
                        };
                        match attr(e, b"date") {
                            Some(d) => set_date(current.as_mut(), field, &d),
                            None if !empty => text = Some((field, String::new())),
                            None => {}
                        }
                    }
                    b"reference" => {
                        if let Some(adv) = current.as_mut() {
                            let id = attr(e, b"id").unwrap_or_default();
                            match attr(e, b"type").as_deref() {
                                Some("cve") if !id.is_empty() => push_unique(&mut adv.cves, id),
                                Some("bugzilla") if !id.is_empty() => {
                                    push_unique(&mut adv.bugzillas, id)
                                }
                                _ => {}
                            }
                        }
                    }
                    b"package" if current.is_some() => {
                        let pkg = package_attrs(e);
                        if empty {
                            finish_package(current.as_mut(), pkg, false, keep);
                        } else {
                            package = Some((pkg, false));
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Some((_, s)) = text.as_mut() {
                    s.push_str(&t.decode().map_err(|e| {
                        Error::failed(format!("{source}: undecodable text in updateinfo: {e}"))
                    })?);
                }
            }
            Event::CData(t) => {
                if let Some((_, s)) = text.as_mut() {
                    s.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, s)) = text.as_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => s.push(c),
                        _ => s.push_str(match r.as_ref() {
                            b"amp" => "&",
                            b"lt" => "<",
                            b"gt" => ">",
                            b"quot" => "\"",
                            b"apos" => "'",
                            _ => "",
                        }),
                    }
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"update" => {
                    if let Some(mut adv) = current.take() {
                        if notice_reboot {
                            adv.reboot_suggested = true;
                        }
                        if !adv.id.is_empty() && !adv.packages.is_empty() {
                            out.push(adv);
                        }
                    }
                    text = None;
                    package = None;
                }
                b"package" => {
                    if let Some((pkg, reboot)) = package.take() {
                        finish_package(current.as_mut(), pkg, reboot, keep);
                    }
                }
                b"id" | b"severity" | b"reboot_suggested" | b"issued" | b"updated" => {
                    if let Some((field, value)) = text.take() {
                        let value = value.trim().to_string();
                        match field {
                            TextField::Id => {
                                if let Some(adv) = current.as_mut() {
                                    adv.id = value;
                                }
                            }
                            TextField::Severity => {
                                if let Some(adv) = current.as_mut() {
                                    adv.severity = severity(&value);
                                }
                            }
                            TextField::Reboot => {
                                if truthy(&value) {
                                    // Inside <package> (Red Hat, Fedora) it marks that package;
                                    // at notice level (SUSE) the whole notice.
                                    match package.as_mut() {
                                        Some((_, r)) => *r = true,
                                        None => notice_reboot = true,
                                    }
                                }
                            }
                            TextField::Issued | TextField::Updated => {
                                set_date(current.as_mut(), field, &value)
                            }
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextField {
    Id,
    Severity,
    Reboot,
    Issued,
    Updated,
}

fn finish_package(
    adv: Option<&mut Advisory>,
    pkg: AdvisoryPackage,
    reboot: bool,
    keep: &dyn Fn(&AdvisoryPackage) -> bool,
) {
    let Some(adv) = adv else { return };
    if reboot {
        // A notice suggests a reboot when any of its packages does.
        adv.reboot_suggested = true;
    }
    // Source packages are never installed.
    if pkg.name.is_empty() || pkg.arch == "src" || pkg.arch == "nosrc" {
        return;
    }
    if keep(&pkg) && !adv.packages.contains(&pkg) {
        adv.packages.push(pkg);
    }
}

/// name, arch and `[epoch:]version-release` (zero epoch omitted) of a `<package>`, in one pass
/// over its attributes.
fn package_attrs(e: &BytesStart<'_>) -> AdvisoryPackage {
    let (mut name, mut arch, mut version, mut release, mut epoch) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    for a in e.attributes().flatten() {
        let slot = match a.key.local_name().as_ref() {
            b"name" => &mut name,
            b"arch" => &mut arch,
            b"version" => &mut version,
            b"release" => &mut release,
            b"epoch" => &mut epoch,
            _ => continue,
        };
        *slot = match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(_) => String::from_utf8_lossy(&a.value).into_owned(),
        };
    }
    let zero_epoch = epoch.trim().parse::<u64>().map_or(true, |n| n == 0);
    let version = if zero_epoch {
        format!("{version}-{release}")
    } else {
        format!("{}:{version}-{release}", epoch.trim())
    };
    AdvisoryPackage {
        name,
        arch,
        version,
    }
}

fn set_date(adv: Option<&mut Advisory>, field: TextField, value: &str) {
    let Some(adv) = adv else { return };
    let date = parse_date(value);
    match field {
        TextField::Issued => adv.issued = date,
        TextField::Updated => adv.updated = date,
        _ => {}
    }
}

fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .map(
            |a| match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                Ok(v) => v.into_owned(),
                Err(_) => String::from_utf8_lossy(&a.value).into_owned(),
            },
        )
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

fn truthy(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

/// The notice `type` as the AWS CLASSIFICATION value: `security` → `Security`, `bugfix` →
/// `Bugfix`, `enhancement` → `Enhancement`, `newpackage` → `Newpackage` (others likewise).
pub fn classification(kind: &str) -> String {
    capitalise(kind.trim())
}

/// The vendor severity with its first letter capitalised (Amazon Linux 2 writes `important`,
/// Red Hat `Important`), or None when empty.
pub fn severity(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| capitalise(v))
}

fn capitalise(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Read an updateinfo date as UTC: `2024-01-15 10:00:00`, optionally followed by a zone name
/// (`UTC`), `2024-01-15T10:00:00Z`, `2024-01-15 10:00`, `2024-01-15`, or seconds since the epoch
/// (SUSE). None when it is none of these.
pub fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(v) {
        return Some(d.with_timezone(&Utc));
    }
    // Date and time, ignoring anything after the seconds (a zone name, fractions).
    let normalised: String = v.replacen('T', " ", 1);
    for (len, fmt) in [(19, "%Y-%m-%d %H:%M:%S"), (16, "%Y-%m-%d %H:%M")] {
        if let Some(head) = normalised.get(..len) {
            if let Ok(t) = NaiveDateTime::parse_from_str(head, fmt) {
                return Some(t.and_utc());
            }
        }
    }
    normalised
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// The location (`href`) of the updateinfo file in a `repomd.xml`, if the repository has one.
pub fn parse_repomd(text: &str, source: &str) -> Result<Option<String>> {
    let mut xml = Reader::from_str(text);
    let mut in_updateinfo = false;
    loop {
        match xml.read_event() {
            Err(e) => {
                return Err(Error::failed(format!(
                    "{source}: not valid repomd XML: {e}"
                )))
            }
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"data" => in_updateinfo = attr(&e, b"type").as_deref() == Some("updateinfo"),
                b"location" if in_updateinfo => return Ok(attr(&e, b"href")),
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == b"data" => in_updateinfo = false,
            Ok(Event::Eof) => return Ok(None),
            Ok(_) => {}
        }
    }
}

/// Open a metadata file, decompressing gzip, xz or zstd as its magic bytes say.
pub fn open_metadata(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut file = BufReader::with_capacity(1 << 16, fs_err::File::open(path)?);
    let magic = file.fill_buf()?.get(..6).map(<[u8]>::to_vec);
    let magic = magic.unwrap_or_default();
    let reader: Box<dyn BufRead> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(file)))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = ruzstd::decoding::StreamingDecoder::new(file).map_err(|e| {
            Error::failed(format!("{}: not a readable zstd file: {e}", path.display()))
        })?;
        Box::new(BufReader::new(decoder))
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        // lzma-rs decodes into a writer only; xz metadata is small enough to hold.
        let mut out = Vec::new();
        lzma_rs::xz_decompress(&mut file, &mut out).map_err(|e| {
            Error::failed(format!("{}: not a readable xz file: {e:?}", path.display()))
        })?;
        Box::new(std::io::Cursor::new(out))
    } else if magic.starts_with(b"BZh") {
        return Err(Error::failed(format!(
            "{}: bzip2-compressed metadata is not supported",
            path.display()
        ))
        .with_hint(
            "RPM repositories publish updateinfo as gzip, xz or zstd; report this repository",
        ));
    } else {
        Box::new(file)
    };
    Ok(reader)
}

/// The updateinfo file of a cached repository: `repodata_dir` holds the `repomd.xml` the package
/// manager downloaded and the metadata files next to it. None when the repository publishes no
/// updateinfo (CentOS, most third-party repositories).
pub fn updateinfo_path(repodata_dir: &Path) -> Result<Option<PathBuf>> {
    let repomd = repodata_dir.join("repomd.xml");
    let text = fs_err::read_to_string(&repomd)?;
    let Some(href) = parse_repomd(&text, &repomd.display().to_string())? else {
        return Ok(None);
    };
    // The href is relative to the repository (`repodata/NAME`); caches keep the files flat.
    let file_name = Path::new(&href)
        .file_name()
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::failed(format!(
                "{}: the updateinfo location {href:?} has no file name",
                repomd.display()
            ))
        })?;
    let path = repodata_dir.join(file_name);
    // yum 3 may keep only the decompressed copy it generated.
    let generated = repodata_dir.join("gen/updateinfo.xml");
    if path.is_file() {
        Ok(Some(path))
    } else if generated.is_file() {
        Ok(Some(generated))
    } else {
        Err(Error::failed(format!(
            "{}: names {href} but {} is not in the cache",
            repomd.display(),
            path.display()
        ))
        .with_hint("refresh the repository metadata (run without --no-refresh)"))
    }
}

/// Read the notices of one cached repository (see [`updateinfo_path`] and [`parse_updateinfo`]).
pub fn read_cached(
    repodata_dir: &Path,
    keep: &dyn Fn(&AdvisoryPackage) -> bool,
) -> Result<Vec<Advisory>> {
    match updateinfo_path(repodata_dir)? {
        Some(path) => parse_updateinfo(open_metadata(&path)?, &path.display().to_string(), keep),
        None => Ok(Vec::new()),
    }
}

/// Merge the notices of several repositories: a notice id published by more than one repository
/// (Red Hat's BaseOS and AppStream share RHSA ids) becomes one notice with the union of packages,
/// CVEs and Bugzilla ids, and the latest dates. Order of first appearance is kept.
pub fn merge(lists: Vec<Vec<Advisory>>) -> Vec<Advisory> {
    let mut out: Vec<Advisory> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for adv in lists.into_iter().flatten() {
        match index.get(&adv.id) {
            None => {
                index.insert(adv.id.clone(), out.len());
                out.push(adv);
            }
            Some(&i) => {
                let into = &mut out[i];
                for p in adv.packages {
                    if !into.packages.contains(&p) {
                        into.packages.push(p);
                    }
                }
                for c in adv.cves {
                    push_unique(&mut into.cves, c);
                }
                for b in adv.bugzillas {
                    push_unique(&mut into.bugzillas, b);
                }
                into.reboot_suggested |= adv.reboot_suggested;
                into.issued = into.issued.max(adv.issued);
                into.updated = into.updated.max(adv.updated);
                if into.severity.is_none() {
                    into.severity = adv.severity;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="x" status="final" type="security" version="2.0">
    <id>FXSA-1</id>
    <issued date="2024-01-15 10:00:00"/>
    <updated date="2024-01-20 10:00:00 UTC"/>
    <severity>important</severity>
    <references>
      <reference id="CVE-1" type="cve"/><reference id="CVE-1" type="cve"/>
      <reference id="42" type="bugzilla"/><reference id="FXSA-1" type="self"/>
    </references>
    <pkglist><collection short="c">
      <package name="k" version="1.2" release="1" epoch="0" arch="x86_64">
        <filename>k.rpm</filename><reboot_suggested>True</reboot_suggested>
      </package>
      <package name="k" version="1.2" release="1" epoch="0" arch="src"/>
      <package name="t" version="2023c" release="1" epoch="1" arch="noarch"/>
    </collection></pkglist>
  </update>
  <update type="enhancement"><id>FXEA-2</id><issued>1705312800</issued>
    <pkglist><collection><package name="drop" version="1" release="1" arch="noarch"/></collection></pkglist>
  </update>
  <update type="bugfix"><id>FXBA-3 &amp; more</id><issued date="2024-02-01"/>
    <pkglist><collection><package name="b" version="1" release="1" arch="noarch"/></collection></pkglist>
  </update>
</updates>"#;

    fn parse_all(doc: &str) -> Vec<Advisory> {
        parse_updateinfo(doc.as_bytes(), "test", &|_| true).unwrap()
    }

    #[test]
    fn reads_every_field_of_a_notice() {
        let advs = parse_all(DOC);
        let a = &advs[0];
        assert_eq!(a.id, "FXSA-1");
        assert_eq!(a.classification, "Security");
        assert_eq!(a.severity.as_deref(), Some("Important"));
        assert_eq!(a.issued, parse_date("2024-01-15T10:00:00Z"));
        assert_eq!(
            a.updated.map(|d| d.to_rfc3339()),
            Some("2024-01-20T10:00:00+00:00".into())
        );
        assert_eq!(a.cves, ["CVE-1"]);
        assert_eq!(a.bugzillas, ["42"]);
        assert!(a.reboot_suggested);
        let pkgs: Vec<_> = a
            .packages
            .iter()
            .map(|p| format!("{}.{} {}", p.name, p.arch, p.version))
            .collect();
        assert_eq!(pkgs, ["k.x86_64 1.2-1", "t.noarch 1:2023c-1"]);
        assert_eq!(advs[1].classification, "Enhancement");
        assert_eq!(
            advs[1].issued.map(|d| d.timestamp()),
            Some(1705312800),
            "epoch-seconds dates (SUSE)"
        );
        assert!(!advs[1].reboot_suggested);
        assert_eq!(advs[2].id, "FXBA-3 & more");
        assert_eq!(advs[2].severity, None);
    }

    #[test]
    fn keep_filters_packages_and_drops_empty_notices() {
        let advs = parse_updateinfo(DOC.as_bytes(), "test", &|p| p.name != "drop").unwrap();
        assert_eq!(
            advs.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["FXSA-1", "FXBA-3 & more"]
        );
    }

    #[test]
    fn broken_xml_names_the_source() {
        let err = parse_updateinfo(
            "<updates><update type='security'><id>x</update>".as_bytes(),
            "repo-x/updateinfo.xml.gz",
            &|_| true,
        )
        .unwrap_err();
        assert!(
            err.message.contains("repo-x/updateinfo.xml.gz"),
            "{}",
            err.message
        );
    }

    #[test]
    fn dates_in_every_published_form() {
        let want = Some(
            NaiveDate::from_ymd_opt(2024, 1, 15)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap()
                .and_utc(),
        );
        for s in [
            "2024-01-15 10:00:00",
            "2024-01-15 10:00:00 UTC",
            "2024-01-15T10:00:00Z",
            "2024-01-15 10:00",
            "1705312800",
        ] {
            assert_eq!(parse_date(s), want, "{s}");
        }
        assert_eq!(
            parse_date("2024-01-15").map(|d| d.to_rfc3339()),
            Some("2024-01-15T00:00:00+00:00".into())
        );
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn classification_and_severity_are_capitalised() {
        assert_eq!(classification("security"), "Security");
        assert_eq!(classification("newpackage"), "Newpackage");
        assert_eq!(classification("BUGFIX"), "Bugfix");
        assert_eq!(severity(" critical "), Some("Critical".into()));
        assert_eq!(severity(""), None);
    }

    #[test]
    fn repomd_names_the_updateinfo_file() {
        let repomd = r#"<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="primary"><location href="repodata/p.xml.gz"/></data>
  <data type="updateinfo"><checksum type="sha256">x</checksum><location href="repodata/abc-updateinfo.xml.gz"/></data>
</repomd>"#;
        assert_eq!(
            parse_repomd(repomd, "t").unwrap().as_deref(),
            Some("repodata/abc-updateinfo.xml.gz")
        );
        assert_eq!(
            parse_repomd(
                "<repomd><data type='primary'><location href='p'/></data></repomd>",
                "t"
            )
            .unwrap(),
            None
        );
    }

    #[test]
    fn merge_unions_notices_published_twice() {
        let mut a = parse_all(DOC);
        let mut b = a.clone();
        b[0].packages[0].name = "other".into();
        b[0].cves.push("CVE-2".into());
        a.truncate(1);
        let merged = merge(vec![a, b]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].packages.len(), 3);
        assert_eq!(merged[0].cves, ["CVE-1", "CVE-2"]);
    }

    #[test]
    fn compressed_files_are_recognised_by_content() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("u.xml.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(DOC.as_bytes()).unwrap();
        fs_err::write(&gz, enc.finish().unwrap()).unwrap();
        let plain = dir.path().join("named.gz");
        fs_err::write(&plain, DOC).unwrap();
        let xz = dir.path().join("u.xml.xz");
        let mut xz_bytes = Vec::new();
        lzma_rs::xz_compress(&mut DOC.as_bytes(), &mut xz_bytes).unwrap();
        fs_err::write(&xz, xz_bytes).unwrap();
        for p in [&gz, &plain, &xz] {
            let advs = parse_updateinfo(open_metadata(p).unwrap(), "t", &|_| true).unwrap();
            assert_eq!(advs.len(), 3, "{}", p.display());
        }
        let bz = dir.path().join("u.xml.bz2");
        fs_err::write(&bz, b"BZh91AY&SY").unwrap();
        let err = open_metadata(&bz).err().expect("bzip2 is refused");
        assert!(err.message.contains("u.xml.bz2"), "{}", err.message);
    }
}
