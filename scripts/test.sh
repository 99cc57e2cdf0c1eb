#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
#
# As root on Debian/Ubuntu it first installs every package the tests drive (real dnf/rpm,
# createrepo_c, apt-ftparchive, unattended-upgrades, ...). Elsewhere it installs nothing and the
# tests that need a missing tool print `SKIP <test>: <reason>`.
#
# Then the quality gates: cargo fmt --check, cargo clippy -D warnings, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(dnf rpm createrepo-c dnf-plugins-core apt-utils unattended-upgrades dpkg-dev curl zip unzip binutils time zstd)

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "== installing test tools: ${missing[*]}"
    # unattended-upgrades must never start upgrading the machine that runs the tests.
    echo 'unattended-upgrades unattended-upgrades/enable_auto_updates boolean false' | debconf-set-selections
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "== not root or not Debian: installing nothing; tests needing missing tools will SKIP"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
# The packaging tests build the portable binary, .deb, .rpm and Distributor package with
# packaging/build-dist.sh (zig and cargo-zigbuild from PyPI; about 2 minutes) and install them into
# throwaway roots. Outside CI they run only when asked.
if [[ -n "${CI:-}" ]]; then
  export PATCHBASELINE_DIST_TESTS=1
fi

# No test may touch this machine's packages: the host's package-manager state is recorded before
# the suite and checked after it.
guard=$(mktemp)
skips=$(mktemp)
trap 'rm -f "${guard:?}" "${skips:?}"' EXIT
scripts/host-guard.sh snapshot "$guard"

echo "== cargo test"
PATCHBASELINE_SKIP_LOG=$skips cargo test -- --test-threads="${TEST_THREADS:-4}"

# Tests whose tool is missing skip themselves; say so loudly (CI installs every tool).
if [[ -s $skips ]]; then
  echo "== skipped tests ($(sort -u "$skips" | wc -l)):"
  sort -u "$skips"
else
  echo "== skipped tests: none"
fi

echo "== host guard"
scripts/host-guard.sh verify "$guard"
