#!/usr/bin/env bash
# Proves the test suite left this machine's package-manager state alone.
#
#   scripts/host-guard.sh snapshot FILE   record the host's package-manager state
#   scripts/host-guard.sh verify FILE     fail (exit 1) naming every path that changed since
#
# Recorded: dpkg status and log, apt's lists/config/history, rpm databases (/var/lib/rpm and
# root's ~/.rpmdb, where Debian's rpm keeps one), dnf/yum config and caches, the reboot flags and
# patchbaseline's own state directory. Content is hashed; for databases that readers touch (the
# SQLite -shm index) only the set of files and the database itself count.
set -euo pipefail

state() {
  local p
  for p in /var/lib/dpkg/status /var/log/dpkg.log /var/log/apt/history.log /var/log/apt/term.log \
           /run/reboot-required /run/reboot-required.pkgs /var/run/reboot-required \
           /etc/apt/sources.list /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages \
           /root/.rpmdb/rpmdb.sqlite /etc/dnf/dnf.conf /var/lib/patchbaseline/state.json; do
    if [[ -e $p ]]; then
      printf '%s %s\n' "$p" "$(sha256sum < "$p" | cut -c1-16)"
    else
      printf '%s absent\n' "$p"
    fi
  done
  for d in /etc/apt/sources.list.d /etc/apt/apt.conf.d /var/lib/apt/lists /etc/yum.repos.d \
           /var/cache/dnf /var/lib/dnf /var/lib/rpm /root/.rpmdb /var/lib/patchbaseline \
           /var/cache/apt/archives; do
    if [[ -d $d ]]; then
      printf '%s/ %s\n' "$d" "$(find "$d" -maxdepth 2 ! -name '*-shm' ! -name '*-wal' ! -name lock \
        ! -name '*.bin' -printf '%P %s\n' 2>/dev/null | LC_ALL=C sort | sha256sum | cut -c1-16)"
    else
      printf '%s/ absent\n' "$d"
    fi
  done
}

case "${1:-}" in
  snapshot) state > "${2:?snapshot FILE}" ;;
  verify)
    before=${2:?verify FILE}
    if ! diff <(cat "$before") <(state) > /dev/null; then
      echo "host-guard: the test run changed this machine's package-manager state:" >&2
      diff <(cat "$before") <(state) | sed -n 's/^> /  now:    /p; s/^< /  before: /p' >&2
      exit 1
    fi
    echo "host-guard: host package-manager state unchanged"
    ;;
  *) echo "usage: $0 snapshot|verify FILE" >&2; exit 2 ;;
esac
