//! What system are we patching: `/etc/os-release` (inside `--root` when given) mapped to the AWS
//! OperatingSystem value, the product string PRODUCT filters see, and the package-manager backend.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::baseline::OperatingSystem;
use crate::error::{Error, Result};

/// Which package manager drives this system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Dnf,
    Yum,
    Apt,
}

/// The detected system.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct System {
    pub operating_system: OperatingSystem,
    /// The AWS product string, e.g. `AmazonLinux2023`, `RedhatEnterpriseLinux9.4`, `Debian12`,
    /// `Ubuntu22.04`.
    pub product: String,
    pub backend: BackendKind,
    /// os-release `ID`, `VERSION_ID`, `VERSION_CODENAME` and `PRETTY_NAME` as found.
    pub id: String,
    pub version_id: String,
    pub codename: String,
    pub pretty_name: String,
}

/// Read `ROOT/etc/os-release` (falling back to `ROOT/usr/lib/os-release`) and classify it.
pub fn detect(root: &Path) -> Result<System> {
    let candidates = ["/etc/os-release", "/usr/lib/os-release"];
    for rel in candidates {
        let path = resolve_in_root(root, Path::new(rel));
        if let Ok(text) = fs_err::read_to_string(&path) {
            return classify(&parse_os_release(&text)).map_err(|e| {
                Error::invalid(format!("{}: {}", path.display(), e.message))
                    .with_hint(e.hint.unwrap_or_default())
            });
        }
    }
    Err(Error::invalid(format!(
        "{}: no os-release file found (looked for {})",
        root.display(),
        candidates.join(" and ")
    ))
    .with_hint("is --root the top of a system image (the directory that holds etc/ and usr/)?"))
}

/// Parse os-release `KEY=value` lines (values may be quoted).
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            map.insert(
                k.trim().to_string(),
                v.replace("\\\"", "\"").replace("\\\\", "\\"),
            );
        }
    }
    map
}

/// Map os-release fields to the AWS system.
pub fn classify(fields: &HashMap<String, String>) -> Result<System> {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let id = get("ID").to_ascii_lowercase();
    let version_id = get("VERSION_ID");
    let name = get("NAME");
    let major: u32 = version_id
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let rpm_backend = |yum_below: u32| {
        if major != 0 && major < yum_below {
            BackendKind::Yum
        } else {
            BackendKind::Dnf
        }
    };
    use OperatingSystem as Os;
    let (os, product, backend) = match id.as_str() {
        "amzn" => match version_id.as_str() {
            "2" => (Os::AmazonLinux2, "AmazonLinux2".to_string(), BackendKind::Yum),
            "2022" => (Os::AmazonLinux2022, "AmazonLinux2022".into(), BackendKind::Dnf),
            "2023" => (Os::AmazonLinux2023, "AmazonLinux2023".into(), BackendKind::Dnf),
            v => (Os::AmazonLinux, format!("AmazonLinux{v}"), BackendKind::Yum),
        },
        "rhel" => (
            Os::RedhatEnterpriseLinux,
            format!("RedhatEnterpriseLinux{version_id}"),
            rpm_backend(8),
        ),
        "centos" => {
            let stream = name.contains("Stream");
            let product = if stream {
                format!("CentOSStream{version_id}")
            } else {
                format!("CentOS{version_id}")
            };
            (Os::Centos, product, rpm_backend(8))
        }
        "ol" => (Os::OracleLinux, format!("OracleLinux{version_id}"), rpm_backend(8)),
        "rocky" => (Os::RockyLinux, format!("RockyLinux{version_id}"), BackendKind::Dnf),
        "almalinux" => (Os::AlmaLinux, format!("AlmaLinux{version_id}"), BackendKind::Dnf),
        // Fedora has no AWS OperatingSystem value; its updates carry Red Hat style updateinfo,
        // so it is treated as a member of the RHEL family with its own product string.
        "fedora" => (
            Os::RedhatEnterpriseLinux,
            format!("Fedora{version_id}"),
            BackendKind::Dnf,
        ),
        "debian" => (Os::Debian, format!("Debian{version_id}"), BackendKind::Apt),
        "raspbian" => (Os::Raspbian, format!("Raspbian{version_id}"), BackendKind::Apt),
        "ubuntu" => (Os::Ubuntu, format!("Ubuntu{version_id}"), BackendKind::Apt),
        "sles" | "sled" | "opensuse-leap" | "opensuse" => {
            return Err(Error::invalid(format!(
                "{} ({}) is a SUSE system; the zypper backend is not available in this version",
                get("PRETTY_NAME"),
                id
            ))
            .with_hint("patchbaseline supports dnf, yum and apt systems today"))
        }
        "" => {
            return Err(Error::invalid("os-release has no ID= line")
                .with_hint("the file must follow os-release(5)"))
        }
        other => {
            return Err(Error::invalid(format!(
                "unsupported system: ID={other} VERSION_ID={version_id} ({})",
                get("PRETTY_NAME")
            ))
            .with_hint(
                "supported: Amazon Linux 2/2023, RHEL, CentOS, Oracle Linux, Rocky, Alma, Fedora, Debian, Ubuntu",
            ))
        }
    };
    Ok(System {
        operating_system: os,
        product,
        backend,
        id,
        version_id,
        codename: get("VERSION_CODENAME"),
        pretty_name: get("PRETTY_NAME"),
    })
}

/// `true` when `root` is the running host rather than an image: `/` itself, or a path (such as
/// `/mnt/..` or a symlink) that resolves to it. One answer for the backends, reboots and state.
pub fn is_host(root: &Path) -> bool {
    root == Path::new("/") || root.canonicalize().is_ok_and(|p| p == Path::new("/"))
}

/// Resolve an absolute path the way a process chrooted into `root` would see it: symbolic links
/// (absolute or relative) are followed inside `root`, never out to the host. With root `/` this is
/// the path itself.
pub fn resolve_in_root(root: &Path, path: &Path) -> PathBuf {
    let mut resolved = PathBuf::from("/");
    let mut pending: Vec<PathBuf> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(PathBuf::from(s)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part.as_os_str() == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let on_disk = root.join(candidate.strip_prefix("/").unwrap_or(&candidate));
        match std::fs::read_link(&on_disk) {
            Ok(target) if hops < 40 => {
                hops += 1;
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(s) => pending.push(PathBuf::from(s)),
                        Component::ParentDir => pending.push(PathBuf::from("..")),
                        _ => {}
                    }
                }
            }
            _ => resolved = candidate,
        }
    }
    root.join(resolved.strip_prefix("/").unwrap_or(&resolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys(text: &str) -> Result<System> {
        classify(&parse_os_release(text))
    }

    #[test]
    fn amazon_linux_2023() {
        let s = sys("NAME=\"Amazon Linux\"\nID=\"amzn\"\nVERSION_ID=\"2023\"\n").unwrap();
        assert_eq!(s.operating_system, OperatingSystem::AmazonLinux2023);
        assert_eq!(s.product, "AmazonLinux2023");
        assert_eq!(s.backend, BackendKind::Dnf);
    }

    #[test]
    fn amazon_linux_2_uses_yum() {
        let s = sys("ID=amzn\nVERSION_ID=2\n").unwrap();
        assert_eq!(s.operating_system, OperatingSystem::AmazonLinux2);
        assert_eq!(s.backend, BackendKind::Yum);
    }

    #[test]
    fn rhel_7_uses_yum_and_9_dnf() {
        assert_eq!(
            sys("ID=rhel\nVERSION_ID=7.9").unwrap().backend,
            BackendKind::Yum
        );
        let s = sys("ID=rhel\nVERSION_ID=\"9.4\"").unwrap();
        assert_eq!(s.backend, BackendKind::Dnf);
        assert_eq!(s.product, "RedhatEnterpriseLinux9.4");
    }

    #[test]
    fn debian_and_ubuntu_products() {
        let d = sys("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm").unwrap();
        assert_eq!(
            (d.operating_system, d.product.as_str()),
            (OperatingSystem::Debian, "Debian12")
        );
        assert_eq!(d.codename, "bookworm");
        let u = sys("ID=ubuntu\nVERSION_ID=\"22.04\"").unwrap();
        assert_eq!(u.product, "Ubuntu22.04");
        assert_eq!(u.backend, BackendKind::Apt);
    }

    #[test]
    fn unsupported_system_names_what_was_found() {
        let e = sys("ID=gentoo\nPRETTY_NAME=\"Gentoo Linux\"").unwrap_err();
        assert!(e.message.contains("ID=gentoo"), "{}", e.message);
        assert!(e.message.contains("Gentoo Linux"), "{}", e.message);
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn absolute_symlinks_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::fs::create_dir_all(root.join("var")).unwrap();
        std::os::unix::fs::symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
        std::os::unix::fs::symlink("/run", root.join("var/run")).unwrap();
        std::fs::write(
            root.join("usr/lib/os-release"),
            "ID=debian\nVERSION_ID=12\n",
        )
        .unwrap();
        assert_eq!(
            resolve_in_root(root, Path::new("/var/run/reboot-required")),
            root.join("run/reboot-required")
        );
        assert_eq!(detect(root).unwrap().product, "Debian12");
    }

    #[test]
    fn missing_os_release_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let e = detect(dir.path()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("no os-release"), "{}", e.message);
    }
}
