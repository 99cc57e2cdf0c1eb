#!/bin/sh
# Distributor install script (AWS-ConfigureAWSPackage, Action=Install): runs as root in the
# unpacked package directory. Installs the portable binary, its man pages, shell completions,
# the systemd scan service and timer (left disabled) and the SSM document under /usr/local.
# Idempotent: installing the same or another version replaces the files.
set -eu
cd "$(dirname "$0")"
PREFIX=${PATCHBASELINE_PREFIX:-/usr/local}
case $PREFIX in /?*) ;; *) echo "install.sh: PATCHBASELINE_PREFIX must be an absolute path" >&2; exit 2 ;; esac
UNITS=${PATCHBASELINE_UNIT_DIR:-/etc/systemd/system}

./patchbaseline --version >/dev/null || {
  echo "install.sh: the patchbaseline binary does not run here (it needs x86_64 Linux with glibc 2.17+)" >&2
  exit 1
}
install -d "$PREFIX/bin" "$PREFIX/share/man/man1" "$PREFIX/share/patchbaseline/ssm" \
  "$PREFIX/share/bash-completion/completions" "$PREFIX/share/zsh/site-functions" \
  "$PREFIX/share/fish/vendor_completions.d"
install -m 0755 patchbaseline "$PREFIX/bin/patchbaseline.new"
mv -f "$PREFIX/bin/patchbaseline.new" "$PREFIX/bin/patchbaseline"
for page in share/man/man1/*.1.gz; do install -m 0644 "$page" "$PREFIX/share/man/man1/"; done
install -m 0644 share/completions/patchbaseline.bash "$PREFIX/share/bash-completion/completions/patchbaseline"
install -m 0644 share/completions/_patchbaseline "$PREFIX/share/zsh/site-functions/_patchbaseline"
install -m 0644 share/completions/patchbaseline.fish "$PREFIX/share/fish/vendor_completions.d/patchbaseline.fish"
install -m 0644 share/ssm/PatchBaseline-Run.json share/ssm/PatchBaseline-Run.yaml "$PREFIX/share/patchbaseline/ssm/"
if [ -d "$UNITS" ] || [ -n "${PATCHBASELINE_UNIT_DIR:-}" ]; then
  install -d "$UNITS"
  # The units name /usr/bin/patchbaseline; point them at this prefix.
  for unit in patchbaseline-scan.service patchbaseline-scan.timer; do
    sed "s#/usr/bin/patchbaseline#$PREFIX/bin/patchbaseline#" "share/systemd/$unit" >"$UNITS/$unit"
    chmod 0644 "$UNITS/$unit"
  done
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
  fi
fi
echo "installed: $("$PREFIX/bin/patchbaseline" --version) in $PREFIX/bin"
