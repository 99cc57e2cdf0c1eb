#!/bin/bash
# Benchmark: `patchbaseline scan --no-refresh` against `apt-get -s dist-upgrade` on THIS host
# (read-only: nothing is refreshed, installed or written outside a temp dir).
#
#   benches/apt-scan.sh [RUNS]        (default 10 runs after one warm-up, each command)
#
# Prints the median wall time of each command, the ratio (goal: <= 1.3x), the peak resident
# memory of one run (/usr/bin/time -f %M), and how many processes one scan starts (strace -f,
# when installed). While `scan` cannot run here (no predefined baseline loading yet), the
# patchbaseline side falls back to one backend::inventory call in the integration-test binary
# (test apt::bench_host_inventory_once), which is what a scan spends its time on.
set -euo pipefail

RUNS=${1:-10}
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
command -v apt-get >/dev/null || { echo "apt-get not found: not a Debian/Ubuntu host" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found (Debian package: time)" >&2; exit 2; }

echo "building (release)..." >&2
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$HERE/target}/release/patchbaseline
TMP=$(mktemp -d)
trap 'rm -rf "${TMP:?}"' EXIT

PB=("$BIN" scan --no-refresh --report "$TMP/report.json")
if ! "${PB[@]}" >/dev/null 2>"$TMP/err"; then
    echo "note: \`patchbaseline scan --no-refresh\` does not run here yet ($(head -c 200 "$TMP/err" | tr '\n' ' '))" >&2
    echo "      measuring backend::inventory through the test binary instead" >&2
    cargo test --release --quiet --test it --no-run 2>/dev/null
    TESTBIN=$(cargo test --release --test it --no-run --message-format=json 2>/dev/null |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
    [ -x "$TESTBIN" ] || { echo "could not find the integration-test binary" >&2; exit 3; }
    PB=("$TESTBIN" apt::bench_host_inventory_once --exact --ignored --quiet --test-threads 1)
fi
APT=(apt-get -s -q dist-upgrade)

# median_ms CMD...: run once to warm up, then RUNS times; print the median in milliseconds.
median_ms() {
    "$@" >/dev/null 2>&1
    local times=() i start end
    for ((i = 0; i < RUNS; i++)); do
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s%N)
        times+=($(((end - start) / 1000000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'
}

peak_kb() {
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}

pb_ms=$(median_ms "${PB[@]}")
apt_ms=$(median_ms "${APT[@]}")
pb_kb=$(peak_kb "${PB[@]}")
apt_kb=$(peak_kb "${APT[@]}")
pending=$("${APT[@]}" 2>/dev/null | grep -c '^Inst ' || true)

echo "host: $(. /etc/os-release && echo "$PRETTY_NAME"), $(dpkg-query -W | wc -l) packages installed, $pending pending upgrades (apt-get -s)"
echo "runs: $RUNS (median after one warm-up)"
printf '%-52s %8s ms %8s MB peak RSS\n' "patchbaseline: ${PB[*]:0:3} ..." "$pb_ms" "$((pb_kb / 1024))"
printf '%-52s %8s ms %8s MB peak RSS\n' "apt-get -s dist-upgrade" "$apt_ms" "$((apt_kb / 1024))"
awk -v a="$pb_ms" -v b="$apt_ms" 'BEGIN {printf "ratio: %.2fx (goal <= 1.3x)\n", a / b}'

if command -v strace >/dev/null; then
    strace -f -qq -e trace=execve -o "$TMP/strace" "${PB[@]}" >/dev/null 2>&1 || true
    echo "processes started by one scan (execve, including apt's own dpkg calls):"
    grep ' = 0$' "$TMP/strace" | grep -o 'execve("[^"]*"' | sed 's/execve("//; s/"$//' |
        sort | uniq -c | sed 's/^/  /'
fi
