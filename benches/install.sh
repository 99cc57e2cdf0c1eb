#!/bin/bash
# Benchmark: `patchbaseline install` of N approved updates against apt-get installing the same
# exact versions directly, each on its own fresh copy of the same fixture image root (never the
# host: every command works inside a root under a temp dir).
#
#   benches/install.sh [N] [RUNS]      (defaults: N=200 updates, 5 runs of each, alternating)
#
# The roots come from tests/fixtures/deb/build.sh with PB_FIXTURE_BULK=N: N packages
# bulk-NNN-sim 1.0-1 installed, 2.0-1 offered by a security archive. The baseline approves
# exactly those (ApprovedPatches ["bulk-*"], no rules), so both sides install the same N
# versions. The direct side is what an administrator would type: one
# `apt-get install --only-upgrade -y NAME=VERSION ...` with the same APT_CONFIG isolation.
# patchbaseline's time includes everything it does besides apt's transaction: reading the
# inventory before and after, evaluating, and writing the report.
#
# Prints the median wall time of each side and their ratio (goal: <= 1.3x). Needs root (dpkg
# writes the roots' databases), dpkg-deb, apt-ftparchive and apt-get.
set -euo pipefail

N=${1:-200}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (dpkg writes the fixture roots)" >&2; exit 2; }

echo "building (release)..." >&2
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$HERE/target}/release/patchbaseline
TMP=$(mktemp -d)
trap 'rm -rf "${TMP:?}"' EXIT
chmod 0755 "$TMP"

echo "building fixtures with $N bulk packages..." >&2
PB_FIXTURE_BULK=$N bash tests/fixtures/deb/build.sh "$TMP/fx" >/dev/null
TEMPLATE=$TMP/fx/template-bulk
[ -e "$TEMPLATE/etc/fixture-root" ] || { echo "install.sh: no fixture root built" >&2; exit 3; }

cat >"$TMP/baseline.json" <<'EOF'
{"Name": "bench-bulk", "OperatingSystem": "DEBIAN",
 "ApprovalRules": {"PatchRules": []},
 "ApprovedPatches": ["bulk-*"], "ApprovedPatchesEnableNonSecurity": false,
 "RejectedPatches": [], "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY"}
EOF

# fresh_root NAME: a new copy of the template; prints its path.
fresh_root() {
    local root=$TMP/$1
    rm -rf "${root:?}"
    cp -a "$TEMPLATE" "$root"
    [ -e "$root/etc/fixture-root" ] || { echo "install.sh: marker missing in $root" >&2; exit 3; }
    echo "$root"
}

# The exact versions, as patchbaseline plans them (a dry run of the plan: scan's Missing list).
root=$(fresh_root plan)
"$BIN" scan --no-refresh --root "$root" --baseline "$TMP/baseline.json" --report "$TMP/plan.json" >/dev/null
mapfile -t PKGS < <(/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
for p in r["patches"]:
    if p["state"] == "Missing":
        print(p["name"] + "=" + p["target_version"])
' "$TMP/plan.json")
[ "${#PKGS[@]}" = "$N" ] || { echo "install.sh: planned ${#PKGS[@]} updates, expected $N" >&2; exit 3; }

# direct ROOT: apt-get itself, isolated the way patchbaseline isolates it.
direct() {
    local root=$1
    printf 'Dir "%s/";\nDir::State::status "%s/var/lib/dpkg/status";\n' "$root" "$root" >"$TMP/apt.conf"
    APT_CONFIG=$TMP/apt.conf DEBIAN_FRONTEND=noninteractive apt-get -q -y --only-upgrade --no-remove \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        -o "DPkg::Options::=--root=$root" -o "DPkg::Options::=--log=$root/var/log/dpkg.log" \
        install "${PKGS[@]}" >/dev/null
}

ours() {
    local root=$1
    "$BIN" install --no-refresh --root "$root" --baseline "$TMP/baseline.json" \
        --reboot-command /bin/true --report "$TMP/install.json" >/dev/null
}

# check ROOT: every bulk package at 2.0-1, fully installed.
check() {
    local n
    n=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package} ${Version} ${Status}\n' 'bulk-*' |
        grep -c ' 2.0-1 install ok installed$' || true)
    [ "$n" = "$N" ] || { echo "install.sh: $1 has $n of $N updates installed" >&2; exit 3; }
}

ms() { echo $((($2 - $1) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

ours_ms=()
direct_ms=()
# One warm-up of each (page cache, apt's first parse of the archive), then alternate.
direct "$(fresh_root warm-direct)"
ours "$(fresh_root warm-ours)"
for ((i = 0; i < RUNS; i++)); do
    root=$(fresh_root "direct-$i")
    start=$(date +%s%N); direct "$root"; end=$(date +%s%N)
    check "$root"; direct_ms+=("$(ms "$start" "$end")")
    root=$(fresh_root "ours-$i")
    start=$(date +%s%N); ours "$root"; end=$(date +%s%N)
    check "$root"; ours_ms+=("$(ms "$start" "$end")")
    rm -rf "${TMP:?}/direct-$i" "${TMP:?}/ours-$i"
done
transactions=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["install"]["transactions"]))' "$TMP/install.json")

d=$(printf '%s\n' "${direct_ms[@]}" | median)
o=$(printf '%s\n' "${ours_ms[@]}" | median)
echo "N=$N updates, $RUNS runs each (median wall time)"
echo "  apt-get install (direct):   ${d} ms   [${direct_ms[*]}]"
echo "  patchbaseline install:      ${o} ms   [${ours_ms[*]}]  ($transactions transaction)"
awk -v o="$o" -v d="$d" 'BEGIN {printf "  ratio: %.2fx (goal <= 1.30x)\n", o / d}'
