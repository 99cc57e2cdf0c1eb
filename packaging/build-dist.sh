#!/usr/bin/env bash
# Build the release artifacts into dist/:
#
#   dist/patchbaseline-<version>-x86_64-linux          portable binary: glibc 2.17 or later
#   dist/patchbaseline_<version>-1_amd64.deb           binary, man pages, completions, systemd
#   dist/patchbaseline-<version>-1.x86_64.rpm          service + timer (disabled), SSM document
#   dist/distributor/manifest.json + patchbaseline-<version>-linux-x86_64.zip
#                                                      SSM Distributor package (AWS-ConfigureAWSPackage)
#   dist/ssm/PatchBaseline-Run.{json,yaml}             the SSM Command document
#   dist/SHA256SUMS
#
#   packaging/build-dist.sh            the release build (cargo-zigbuild, glibc 2.17 target)
#   packaging/build-dist.sh --native   plain `cargo build --release` for the host (quick local
#                                      packaging checks; the binary is NOT portable and the glibc
#                                      check is skipped)
#
# Needs: cargo, python3 (venv + pip reach PyPI for ziglang and cargo-zigbuild unless both are on
# PATH), objdump, strip, dpkg-deb, rpmbuild, zip. DIST=dir overrides the output directory;
# CARGO_TARGET_DIR is honoured. Nothing outside dist/ and the target directory is written.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

MODE=release
case "${1:-}" in
  '') ;;
  --native) MODE=native ;;
  *) echo "usage: packaging/build-dist.sh [--native]" >&2; exit 2 ;;
esac

DIST=${DIST:-$SRC/dist}
case "$DIST" in /*) ;; *) DIST=$SRC/$DIST ;; esac
if [ "$DIST" = / ] || [ -z "${DIST%/}" ]; then
  echo "build-dist.sh: refusing to write into /" >&2
  exit 2
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$SRC/target}
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$VERSION" ] || { echo "build-dist.sh: no version in Cargo.toml" >&2; exit 3; }
ARCH=x86_64
TRIPLE=x86_64-unknown-linux-gnu
GLIBC=2.17
BINARY_NAME=patchbaseline-$VERSION-$ARCH-linux
ZIP_NAME=patchbaseline-$VERSION-linux-$ARCH.zip

step() { printf '== %s\n' "$*"; }
need() {
  for tool; do
    command -v "$tool" >/dev/null || { echo "build-dist.sh: $tool is not installed" >&2; exit 3; }
  done
}
need cargo objdump strip dpkg-deb rpmbuild zip gzip sha256sum

WORK=$(mktemp -d "${TMPDIR:-/tmp}/patchbaseline-dist.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SECONDS=0

# --- 1. the binary -------------------------------------------------------------------------------
if [ "$MODE" = release ]; then
  if ! command -v cargo-zigbuild >/dev/null; then
    VENV=$TARGET_DIR/dist-venv
    if [ ! -x "$VENV/bin/cargo-zigbuild" ]; then
      step "installing ziglang and cargo-zigbuild from PyPI into $VENV"
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check ziglang cargo-zigbuild
    fi
    # cargo-zigbuild runs zig through `python3 -m ziglang` when no zig is on PATH.
    export PATH="$VENV/bin:$PATH"
  fi
  # zig's cache and cargo-zigbuild's wrapper scripts (XDG cache) stay in the target directory.
  export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-$TARGET_DIR/zig-cache}
  step "cargo zigbuild --release --target $TRIPLE.$GLIBC"
  XDG_CACHE_HOME=$TARGET_DIR/dist-cache cargo zigbuild --locked --release --target "$TRIPLE.$GLIBC"
  BUILT=$TARGET_DIR/$TRIPLE/release/patchbaseline
else
  step "cargo build --release (native, not portable)"
  cargo build --locked --release
  BUILT=$TARGET_DIR/release/patchbaseline
fi

mkdir -p "$DIST"
rm -rf "${DIST:?}/distributor" "${DIST:?}/ssm"
rm -f "$DIST"/patchbaseline[-_]* "$DIST/SHA256SUMS"
BIN=$DIST/$BINARY_NAME
cp "$BUILT" "$BIN"
strip "$BIN"

# --- 2. glibc check ------------------------------------------------------------------------------
NEWEST=$(objdump -T "$BIN" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -V | tail -n 1)
if [ "$MODE" = release ]; then
  if [ "$(printf '%s\n%s\n' "$NEWEST" "$GLIBC" | sort -V | tail -n 1)" != "$GLIBC" ]; then
    echo "build-dist.sh: $BINARY_NAME needs GLIBC_$NEWEST, newer than $GLIBC:" >&2
    objdump -T "$BIN" | grep "GLIBC_$NEWEST" >&2
    exit 1
  fi
  step "glibc: the newest symbol version needed is GLIBC_$NEWEST (<= $GLIBC)"
else
  step "glibc: native build needs GLIBC_$NEWEST (not checked)"
fi
"$BIN" --version

# --- 3. the file tree every package carries ------------------------------------------------------
STAGE=$WORK/stage
install -d "$STAGE/usr/bin" "$STAGE/usr/share/man/man1" \
  "$STAGE/usr/share/bash-completion/completions" "$STAGE/usr/share/zsh/vendor-completions" \
  "$STAGE/usr/share/fish/vendor_completions.d" "$STAGE/usr/lib/systemd/system" \
  "$STAGE/usr/share/patchbaseline/ssm" "$STAGE/usr/share/doc/patchbaseline"
install -m 0755 "$BIN" "$STAGE/usr/bin/patchbaseline"
"$BIN" generate man "$WORK/man"
"$BIN" generate completions "$WORK/completions"
for page in "$WORK"/man/*.1; do
  gzip -9n <"$page" >"$STAGE/usr/share/man/man1/$(basename "$page").gz"
done
install -m 0644 "$WORK/completions/patchbaseline.bash" "$STAGE/usr/share/bash-completion/completions/patchbaseline"
install -m 0644 "$WORK/completions/_patchbaseline" "$STAGE/usr/share/zsh/vendor-completions/_patchbaseline"
install -m 0644 "$WORK/completions/patchbaseline.fish" "$STAGE/usr/share/fish/vendor_completions.d/patchbaseline.fish"
install -m 0644 packaging/systemd/patchbaseline-scan.service packaging/systemd/patchbaseline-scan.timer \
  "$STAGE/usr/lib/systemd/system/"
install -m 0644 packaging/ssm/PatchBaseline-Run.json packaging/ssm/PatchBaseline-Run.yaml \
  "$STAGE/usr/share/patchbaseline/ssm/"
for doc in README.md docs/*.md; do
  [ -f "$doc" ] && install -m 0644 "$doc" "$STAGE/usr/share/doc/patchbaseline/"
done
SUMMARY="Apply AWS Systems Manager patch baselines on one Linux host or image"
DESCRIPTION="patchbaseline reads an AWS patch baseline, asks dnf, yum or apt what updates exist,
classifies them, reports compliance the way AWS-RunPatchBaseline does, installs, and
reboots only when needed."

# --- 4. .deb (dpkg-deb on the staged tree) -------------------------------------------------------
step "deb"
DEB=$WORK/deb
cp -a "$STAGE" "$DEB"
install -d "$DEB/DEBIAN"
{
  echo "Package: patchbaseline"
  echo "Version: $VERSION-1"
  echo "Architecture: amd64"
  echo "Maintainer: patchbaseline maintainers <patchbaseline@example.invalid>"
  echo "Depends: libc6 (>= $GLIBC)"
  echo "Section: admin"
  echo "Priority: optional"
  echo "Installed-Size: $(du -sk --exclude=DEBIAN "$DEB" | cut -f1)"
  echo "Description: $SUMMARY"
  printf '%s\n' "$DESCRIPTION" | sed 's/^/ /'
} >"$DEB/DEBIAN/control"
(cd "$DEB" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$DEB/DEBIAN/md5sums"
DEB_FILE=$DIST/patchbaseline_${VERSION}-1_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$DEB" "$DEB_FILE" >/dev/null

# --- 5. .rpm (rpmbuild on the staged tree) -------------------------------------------------------
step "rpm"
RPMTOP=$WORK/rpmbuild
mkdir -p "$RPMTOP"/{SPECS,RPMS,BUILD,BUILDROOT}
cat >"$RPMTOP/SPECS/patchbaseline.spec" <<EOF
Name: patchbaseline
Version: $VERSION
Release: 1
Summary: $SUMMARY
License: Apache-2.0
BuildArch: x86_64
AutoReqProv: no
Requires: glibc >= $GLIBC

%global debug_package %{nil}
%global __strip /bin/true
%global _build_id_links none
# The tree is final (man pages already compressed): no brp-* post-processing.
%global __os_install_post %{nil}

%description
$DESCRIPTION

%install
cp -a "$STAGE/." "%{buildroot}/"

%files
/usr/bin/patchbaseline
/usr/share/man/man1/patchbaseline*.1.gz
/usr/share/bash-completion/completions/patchbaseline
/usr/share/zsh/vendor-completions/_patchbaseline
/usr/share/fish/vendor_completions.d/patchbaseline.fish
/usr/lib/systemd/system/patchbaseline-scan.service
/usr/lib/systemd/system/patchbaseline-scan.timer
/usr/share/patchbaseline
%doc /usr/share/doc/patchbaseline
EOF
# HOME points at the work directory: Debian's rpm keeps state under ~ (test-isolation.md).
HOME=$WORK rpmbuild --quiet -bb \
  --define "_topdir $RPMTOP" --define "_tmppath $WORK/tmp" \
  "$RPMTOP/SPECS/patchbaseline.spec" 2>&1 | grep -v 'should not be used directly' || true
RPM_FILE=$DIST/patchbaseline-$VERSION-1.x86_64.rpm
cp "$RPMTOP/RPMS/x86_64/patchbaseline-$VERSION-1.x86_64.rpm" "$RPM_FILE"

# --- 6. SSM Distributor package ------------------------------------------------------------------
step "distributor"
PKG=$WORK/distributor
install -d "$PKG/share/man/man1" "$PKG/share/completions" "$PKG/share/systemd" "$PKG/share/ssm"
install -m 0755 "$BIN" "$PKG/patchbaseline"
install -m 0755 packaging/distributor/install.sh packaging/distributor/uninstall.sh "$PKG/"
cp "$STAGE"/usr/share/man/man1/*.1.gz "$PKG/share/man/man1/"
cp "$WORK"/completions/* "$PKG/share/completions/"
cp packaging/systemd/patchbaseline-scan.* "$PKG/share/systemd/"
cp packaging/ssm/PatchBaseline-Run.json packaging/ssm/PatchBaseline-Run.yaml "$PKG/share/ssm/"
mkdir -p "$DIST/distributor"
(cd "$PKG" && zip -q -X -r "$DIST/distributor/$ZIP_NAME" .)
ZIP_SHA=$(sha256sum "$DIST/distributor/$ZIP_NAME" | cut -d' ' -f1)
sed -e "s/@VERSION@/$VERSION/g" -e "s/@ZIP@/$ZIP_NAME/g" -e "s/@SHA256@/$ZIP_SHA/g" \
  packaging/distributor/manifest.json >"$DIST/distributor/manifest.json"

# --- 7. the SSM document and checksums -----------------------------------------------------------
mkdir -p "$DIST/ssm"
cp packaging/ssm/PatchBaseline-Run.json packaging/ssm/PatchBaseline-Run.yaml "$DIST/ssm/"
(cd "$DIST" && sha256sum "$BINARY_NAME" "$(basename "$DEB_FILE")" "$(basename "$RPM_FILE")" \
  "distributor/$ZIP_NAME" >SHA256SUMS)

step "done in ${SECONDS}s:"
(cd "$DIST" && ls -l "$BINARY_NAME" "$(basename "$DEB_FILE")" "$(basename "$RPM_FILE")" distributor ssm)
