//! The yum 3 backend's parsers on real captures (testdata/yum/, sources in SOURCE.md there), and
//! its cache lookup on real repository metadata made by createrepo_c/modifyrepo_c.

use std::path::Path;

use patchbaseline::backend::updateinfo;
use patchbaseline::backend::yum::{parse_yum_list, yum_cache_dirs};
use patchbaseline::model::AvailablePackage;

use crate::common::testdata;
use crate::dnf::fixture;

fn parse(file: &str) -> Vec<AvailablePackage> {
    let text = std::fs::read_to_string(testdata(file)).expect("capture");
    parse_yum_list(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn find<'a>(pkgs: &'a [AvailablePackage], name: &str) -> &'a AvailablePackage {
    pkgs.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not parsed"))
}

#[test]
fn yum_list_centos7_check_update_capture() {
    let pkgs = parse("yum/centos-7-1.yum-check-update.stdout");
    assert_eq!(pkgs.len(), 41, "every row before Obsoleting Packages");
    let bind = find(&pkgs, "bind-export-libs");
    assert_eq!(
        (
            bind.arch.as_str(),
            bind.version.as_str(),
            bind.repository.as_str()
        ),
        ("x86_64", "32:9.11.4-26.P2.el7_9.16", "updates")
    );
    // A name too long for its column: the rest of the row is on the next line.
    let oslogin = find(&pkgs, "google-compute-engine-oslogin");
    assert_eq!(oslogin.version, "1:20240415.00-g1.el7");
    assert_eq!(oslogin.repository, "google-compute-engine");
    assert_eq!(find(&pkgs, "tzdata").arch, "noarch");
    assert_eq!(
        find(&pkgs, "centos-release").version,
        "7-9.2009.2.el7.centos"
    );
    // The headers and mirror lines are not packages; the Obsoleting section is ignored.
    assert!(pkgs
        .iter()
        .all(|p| p.name != "google-cloud-cli" && !p.name.contains(':')));
    assert!(pkgs.iter().all(|p| !p.repository.starts_with('@')));
}

#[test]
fn yum_list_rhel7_check_update_capture() {
    let pkgs = parse("yum/rhel-7-1.yum-check-update.stdout");
    assert_eq!(pkgs.len(), 16);
    let k = find(&pkgs, "kernel");
    assert_eq!(
        (k.arch.as_str(), k.version.as_str(), k.repository.as_str()),
        (
            "x86_64",
            "3.10.0-1160.119.1.el7",
            "rhui-rhel-7-server-rhui-rpms"
        )
    );
    let wrapped = find(&pkgs, "redhat-support-lib-python");
    assert_eq!(wrapped.arch, "noarch");
    assert_eq!(wrapped.version, "0.14.0-1.el7_9");
    assert_eq!(find(&pkgs, "redhat-release-server").version, "7.9-12.el7_9");
}

#[test]
fn yum_list_rejects_a_truncated_row() {
    let text = std::fs::read_to_string(testdata("yum/rhel-7-1.yum-check-update.stdout")).unwrap();
    // Cut the capture right after a wrapped name: the row's other columns are missing.
    let cut = text.find("google-compute-engine-oslogin.x86_64\n").unwrap() + 37;
    let err = parse_yum_list(&text[..cut]).unwrap_err();
    assert!(err.contains("google-compute-engine-oslogin"), "{err}");
}

#[test]
fn yum_cache_lookup_reads_updateinfo_from_the_flat_yum_layout() {
    let Some(fx) = fixture("yum_cache_lookup_reads_updateinfo_from_the_flat_yum_layout") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // yum 3 keeps repomd.xml and the files it names side by side in the repository's cachedir.
    let cache = root.join("var/cache/yum/x86_64/2/amzn2-core");
    std::fs::create_dir_all(&cache).unwrap();
    for e in std::fs::read_dir(fx.repo("updates").join("repodata"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), cache.join(e.file_name())).unwrap();
    }
    let dirs = yum_cache_dirs(
        root,
        "/var/cache/yum/$basearch/$releasever",
        &["amzn2-core".to_string(), "not-cached".to_string()],
    );
    assert_eq!(dirs, [("amzn2-core".to_string(), cache.clone())]);
    let advs = updateinfo::read_cached(&cache, &|_| true).expect("read");
    assert_eq!(advs.len(), 10);

    // Only the decompressed copy yum generated: still found.
    for e in std::fs::read_dir(&cache).unwrap().flatten() {
        if e.file_name().to_string_lossy().contains("updateinfo") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    std::fs::create_dir_all(cache.join("gen")).unwrap();
    std::fs::copy(
        fx.dir.join("updateinfo/updates/updateinfo.xml"),
        cache.join("gen/updateinfo.xml"),
    )
    .unwrap();
    let advs = updateinfo::read_cached(&cache, &|_| true).expect("read generated");
    assert_eq!(advs.len(), 10);
    assert!(Path::new(&cache).join("repomd.xml").exists());
}
