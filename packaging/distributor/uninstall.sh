#!/bin/sh
# Distributor uninstall script (AWS-ConfigureAWSPackage, Action=Uninstall): removes what
# install.sh installed. Reports under /var/log/patchbaseline are kept.
set -eu
PREFIX=${PATCHBASELINE_PREFIX:-/usr/local}
case $PREFIX in /?*) ;; *) echo "uninstall.sh: PATCHBASELINE_PREFIX must be an absolute path" >&2; exit 2 ;; esac
UNITS=${PATCHBASELINE_UNIT_DIR:-/etc/systemd/system}
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now patchbaseline-scan.timer 2>/dev/null || true
fi
rm -f "$PREFIX/bin/patchbaseline" \
  "$PREFIX"/share/man/man1/patchbaseline*.1.gz \
  "$PREFIX/share/bash-completion/completions/patchbaseline" \
  "$PREFIX/share/zsh/site-functions/_patchbaseline" \
  "$PREFIX/share/fish/vendor_completions.d/patchbaseline.fish" \
  "$UNITS/patchbaseline-scan.service" "$UNITS/patchbaseline-scan.timer"
rm -rf "$PREFIX/share/patchbaseline"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
echo "patchbaseline removed from $PREFIX"
