#!/bin/bash
# Benchmark: `patchbaseline install` of N approved updates against the package manager installing
# the same exact versions directly, each on its own fresh copy of the same fixture image root
# (never the host: every command works inside a root under a temp dir).
#
#   benches/install.sh [N] [RUNS] [apt|dnf|all]     (defaults: 200 updates, 5 runs, all)
#
# The roots come from the fixture builders with PB_FIXTURE_BULK=N: N packages bulk-NNN-sim 1.0-1
# installed, 2.0-1 offered as security updates. The baseline approves exactly those
# (ApprovedPatches ["bulk-*"], no rules), so both sides install the same N versions. The direct
# side is what an administrator would type, with the same isolation:
#   apt: apt-get install --only-upgrade -y NAME=VERSION ...
#   dnf: dnf -y upgrade NAME-EPOCH:VERSION-RELEASE.ARCH ...
# patchbaseline's time includes everything it does besides the transaction: reading the
# inventory before and after, evaluating, writing the report.
#
# Prints the median wall time of each side and their ratio (goal: <= 1.3x). Needs root (the
# package managers write the roots' databases) and the fixture builders' tools.
set -euo pipefail

N=${1:-200}
RUNS=${2:-5}
WHICH=${3:-all}
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (the package managers write the fixture roots)" >&2; exit 2; }

echo "building (release)..." >&2
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$HERE/target}/release/patchbaseline
TMP=$(mktemp -d)
trap 'rm -rf "${TMP:?}"' EXIT
chmod 0755 "$TMP"

ms() { echo $((($2 - $1) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

# fresh_root TEMPLATE NAME: a new copy of TEMPLATE under TMP; prints its path.
fresh_root() {
    local root=$TMP/$2
    rm -rf "${root:?}"
    cp -a "$1" "$root"
    [ -e "$root/etc/fixture-root" ] || { echo "install.sh: marker missing in $root" >&2; exit 3; }
    echo "$root"
}

# planned TEMPLATE OS FORMAT: the exact versions patchbaseline plans (scan's Missing list), one
# per line in FORMAT (apt: NAME=VERSION, rpm: NAME-0:VERSION.ARCH).
planned() {
    local root
    root=$(fresh_root "$1" plan)
    cat >"$TMP/baseline.json" <<EOF
{"Name": "bench-bulk", "OperatingSystem": "$2",
 "ApprovalRules": {"PatchRules": []},
 "ApprovedPatches": ["bulk-*"], "ApprovedPatchesEnableNonSecurity": false,
 "RejectedPatches": [], "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY"}
EOF
    "$BIN" scan --no-refresh --root "$root" --baseline "$TMP/baseline.json" --report "$TMP/plan.json" >/dev/null
    /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
for p in r["patches"]:
    if p["state"] == "Missing":
        v = p["target_version"]
        if sys.argv[2] == "apt":
            print(p["name"] + "=" + v)
        else:
            print("%s-%s%s.%s" % (p["name"], "" if ":" in v else "0:", v, p["arch"]))
' "$TMP/plan.json" "$3"
}

ours() {
    "$BIN" install --no-refresh --root "$1" --baseline "$TMP/baseline.json" \
        --reboot-command /bin/true --report "$TMP/install.json" >/dev/null
}

# measure NAME TEMPLATE DIRECT CHECK: alternate DIRECT and ours on fresh roots, RUNS times each
# after one warm-up of each; CHECK ROOT verifies every update landed.
measure() {
    local name=$1 template=$2 direct=$3 check=$4 i root start end
    local ours_ms=() direct_ms=()
    "$direct" "$(fresh_root "$template" warm-direct)"
    ours "$(fresh_root "$template" warm-ours)"
    for ((i = 0; i < RUNS; i++)); do
        root=$(fresh_root "$template" "direct-$i")
        start=$(date +%s%N); "$direct" "$root"; end=$(date +%s%N)
        "$check" "$root"; direct_ms+=("$(ms "$start" "$end")")
        root=$(fresh_root "$template" "ours-$i")
        start=$(date +%s%N); ours "$root"; end=$(date +%s%N)
        "$check" "$root"; ours_ms+=("$(ms "$start" "$end")")
        rm -rf "${TMP:?}/direct-$i" "${TMP:?}/ours-$i"
    done
    local tx d o
    tx=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["install"]["transactions"]))' "$TMP/install.json")
    d=$(printf '%s\n' "${direct_ms[@]}" | median)
    o=$(printf '%s\n' "${ours_ms[@]}" | median)
    echo "$name: N=$N updates, $RUNS runs each (median wall time)"
    echo "  $name directly:          ${d} ms   [${direct_ms[*]}]"
    echo "  patchbaseline install:   ${o} ms   [${ours_ms[*]}]  ($tx transaction)"
    awk -v o="$o" -v d="$d" 'BEGIN {printf "  ratio: %.2fx (goal <= 1.30x)\n", o / d}'
}

# --- apt -------------------------------------------------------------------------------------
apt_direct() {
    local root=$1
    printf 'Dir "%s/";\nDir::State::status "%s/var/lib/dpkg/status";\n' "$root" "$root" >"$TMP/apt.conf"
    APT_CONFIG=$TMP/apt.conf DEBIAN_FRONTEND=noninteractive apt-get -q -y --only-upgrade --no-remove \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        -o "DPkg::Options::=--root=$root" -o "DPkg::Options::=--log=$root/var/log/dpkg.log" \
        install "${PKGS[@]}" >/dev/null
}
apt_check() {
    local n
    n=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package} ${Version} ${Status}\n' 'bulk-*' |
        grep -c ' 2.0-1 install ok installed$' || true)
    [ "$n" = "$N" ] || { echo "install.sh: $1 has $n of $N updates installed" >&2; exit 3; }
}
if [ "$WHICH" = all ] || [ "$WHICH" = apt ]; then
    echo "building deb fixtures with $N bulk packages..." >&2
    PB_FIXTURE_BULK=$N bash tests/fixtures/deb/build.sh "$TMP/deb" >/dev/null
    mapfile -t PKGS < <(planned "$TMP/deb/template-bulk" DEBIAN apt)
    [ "${#PKGS[@]}" = "$N" ] || { echo "install.sh: planned ${#PKGS[@]} apt updates, expected $N" >&2; exit 3; }
    measure apt-get "$TMP/deb/template-bulk" apt_direct apt_check
fi

# --- dnf -------------------------------------------------------------------------------------
dnf_direct() {
    local root=$1
    dnf -y --config="$root/etc/dnf/dnf.conf" --setopt=reposdir="$root/etc/yum.repos.d" \
        --installroot="$root" --disableplugin='*' upgrade "${PKGS[@]}" >/dev/null
}
dnf_check() {
    local n
    n=$(rpm --root "$1" --dbpath /var/lib/rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE}\n' |
        grep -c '^bulk-.* 2.0-1$' || true)
    [ "$n" = "$N" ] || { echo "install.sh: $1 has $n of $N updates installed" >&2; exit 3; }
}
if [ "$WHICH" = all ] || [ "$WHICH" = dnf ]; then
    echo "building rpm fixtures with $N bulk packages..." >&2
    PB_FIXTURE_BULK=$N bash tests/fixtures/rpm/build.sh "$TMP/rpm" >/dev/null
    export HOME=$TMP/rpm/home # .rpmmacros: %_dbpath /var/lib/rpm (Debian's rpm uses ~/.rpmdb)
    mapfile -t PKGS < <(planned "$TMP/rpm/template-bulk" AMAZON_LINUX_2023 rpm)
    [ "${#PKGS[@]}" = "$N" ] || { echo "install.sh: planned ${#PKGS[@]} dnf updates, expected $N" >&2; exit 3; }
    measure dnf "$TMP/rpm/template-bulk" dnf_direct dnf_check
fi
