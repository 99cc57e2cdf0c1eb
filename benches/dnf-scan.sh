#!/bin/bash
# Benchmark: `patchbaseline scan --root R --no-refresh` against `dnf -C --installroot=R check-update`
# on an image root with N installed packages, an update for each, and ADV advisories.
#
#   benches/dnf-scan.sh                  # N=5000 ADV=2000 RUNS=5, builds into a temporary directory
#   N=500 ADV=200 RUNS=3 benches/dnf-scan.sh
#   WORK=/tmp/dnf-bench benches/dnf-scan.sh   # build into (and later reuse) this directory; never removed
#
# How the 2×N packages are made quickly: one spec with N subpackages per version (one rpmbuild
# each, the two versions in parallel, no dependency generators), and the installed set is written
# with `rpm -i --justdb` (no payload unpacked). Needs rpm, rpmbuild, createrepo_c, modifyrepo_c,
# dnf, /usr/bin/time, bc, and root. Prints median wall times and peak RSS; asserts nothing.
#
# dnf runs with plugins off in both measurements: Debian's dnf enables generate_completion_cache,
# which writes the HOST's /var/cache/dnf/packages.db even with --installroot.
set -euo pipefail

N=${N:-5000}
ADV=${ADV:-2000}
RUNS=${RUNS:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-}
for tool in rpm rpmbuild createrepo_c modifyrepo_c dnf /usr/bin/time bc; do
    command -v "$tool" >/dev/null || { echo "SKIP dnf-scan bench: $tool is not installed" >&2; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP dnf-scan bench: needs root" >&2; exit 0; }

if [ -z "$BIN" ]; then
    (cd "$HERE" && cargo build --release --quiet)
    BIN="${CARGO_TARGET_DIR:-$HERE/target}/release/patchbaseline"
fi

if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d /tmp/dnf-bench.XXXXXX)
    # Only a directory this script created is removed afterwards.
    if [ -z "${KEEP:-}" ]; then trap 'rm -rf "${WORK:?}"' EXIT; fi
fi
WORK=${WORK%/}
case "$WORK" in "" | / ) echo "refusing WORK=$WORK" >&2; exit 2 ;; esac
mkdir -p "$WORK"
ROOT="$WORK/root"
export HOME="$WORK/home"

build_fixture() {
    mkdir -p "$HOME" "$WORK/repos/base" "$WORK/repos/updates" "$WORK/ui"
    printf '%%_dbpath /var/lib/rpm\n' >"$HOME/.rpmmacros"

    # One spec, N subpackages bpkgNNNNN plus system-release (which dnf reads releasever from).
    awk -v n="$N" 'BEGIN {
        print "Name: benchbase\nVersion: %{pver}\nRelease: 1\nSummary: bench\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no"
        print "%description\nbench\n%install\nmkdir -p %{buildroot}/usr/share/bench"
        printf "for i in $(seq -f %%05g 1 %d); do echo %%{pver} > %%{buildroot}/usr/share/bench/bpkg$i; done\n", n
        print "echo %{pver} > %{buildroot}/usr/share/bench/system-release"
        print "%package -n system-release\nSummary: r\nProvides: system-release(releasever) = 2023"
        print "%description -n system-release\nr\n%files -n system-release\n/usr/share/bench/system-release"
        for (i = 1; i <= n; i++) {
            p = sprintf("bpkg%05d", i)
            printf "%%package -n %s\nSummary: b\n%%description -n %s\nb\n%%files -n %s\n/usr/share/bench/%s\n", p, p, p, p
        }
    }' >"$WORK/bench.spec"

    local t0=$SECONDS
    for v in 1.0 1.1; do
        rpmbuild -bb --quiet --define "_topdir $WORK/build-$v" --define "_rpmdir $WORK/rpms-$v" \
            --define "pver $v" "$WORK/bench.spec" &
    done
    wait
    echo "rpmbuild of 2 x $((N + 1)) packages: $((SECONDS - t0)) s"
    mv "$WORK/rpms-1.0"/noarch/*.rpm "$WORK/repos/base/"
    mv "$WORK/rpms-1.1"/noarch/*.rpm "$WORK/repos/updates/"
    rm -rf "${WORK:?}"/build-* "${WORK:?}"/rpms-*

    # ADV advisories over the N updates (each package in exactly one), types and severities mixed.
    awk -v n="$N" -v adv="$ADV" 'BEGIN {
        split("security bugfix enhancement", types, " ")
        split("Critical Important Moderate Low", sev, " ")
        print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>"
        for (a = 0; a < adv; a++) {
            t = types[a % 3 + 1]
            printf "<update from=\"bench\" status=\"final\" type=\"%s\" version=\"2.0\"><id>BNSA-2024:%05d</id>", t, a
            printf "<title>bench</title><issued date=\"2024-0%d-1%d 10:00:00\"/>", a % 9 + 1, a % 10
            if (t == "security") printf "<severity>%s</severity>", sev[a % 4 + 1]
            printf "<references><reference id=\"CVE-2024-%05d\" type=\"cve\" href=\"x\"/></references>", a
            printf "<pkglist><collection short=\"b\"><name>b</name>"
            for (i = a + 1; i <= n; i += adv)
                printf "<package name=\"bpkg%05d\" version=\"1.1\" release=\"1\" epoch=\"0\" arch=\"noarch\"><filename>x</filename></package>", i
            print "</collection></pkglist></update>"
        }
        print "</updates>"
    }' >"$WORK/ui/updateinfo.xml"

    t0=$SECONDS
    createrepo_c --quiet "$WORK/repos/base"
    createrepo_c --quiet "$WORK/repos/updates"
    modifyrepo_c --mdtype=updateinfo "$WORK/ui/updateinfo.xml" "$WORK/repos/updates/repodata" >/dev/null
    echo "createrepo_c + modifyrepo_c: $((SECONDS - t0)) s"

    mkdir -p "$ROOT/etc/dnf" "$ROOT/etc/yum.repos.d"
    touch "$ROOT/etc/fixture-root"
    printf 'NAME="Amazon Linux"\nID="amzn"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023 (bench)"\n' >"$ROOT/etc/os-release"
    printf '[main]\ngpgcheck=0\ninstallonly_limit=3\nbest=False\nskip_if_unavailable=False\n' >"$ROOT/etc/dnf/dnf.conf"
    printf '[bench-base]\nname=base\nbaseurl=file://%s\ngpgcheck=0\n\n[bench-updates]\nname=updates\nbaseurl=file://%s\ngpgcheck=0\n' \
        "$WORK/repos/base" "$WORK/repos/updates" >"$ROOT/etc/yum.repos.d/bench.repo"
    [ -e "$ROOT/etc/fixture-root" ] || exit 2
    t0=$SECONDS
    # The installed set, written straight into the root's rpm database (no payload, no scriptlets).
    rpm --root "$ROOT" --dbpath /var/lib/rpm -i --justdb --nodeps --noscripts --nosignature --nodigest \
        "$WORK/repos/base"/*.rpm 2>/dev/null
    dnf -q -y --installroot="$ROOT" --config="$ROOT/etc/dnf/dnf.conf" \
        --setopt=reposdir="$ROOT/etc/yum.repos.d" --disableplugin='*' makecache >/dev/null
    echo "rpmdb population + dnf makecache: $((SECONDS - t0)) s"
}

if [ ! -e "$ROOT/etc/fixture-root" ]; then
    build_fixture
fi
echo "root: $ROOT ($(rpm --root "$ROOT" --dbpath /var/lib/rpm -qa | wc -l) installed, $N updates, $ADV advisories)"

PB=("$BIN" scan --root "$ROOT" --no-refresh --report "$WORK/report.json")
DNF=(dnf -q -C --installroot="$ROOT" --config="$ROOT/etc/dnf/dnf.conf" --setopt=reposdir="$ROOT/etc/yum.repos.d"
    --disableplugin='*' check-update)

QUERY=(dnf -q -y --installroot="$ROOT" --config="$ROOT/etc/dnf/dnf.conf" --disableplugin='*'
    --setopt=reposdir="$ROOT/etc/yum.repos.d" -C repoquery
    --qf '@pb@|%{name}|%{evr}|%{arch}|%{repoid}|%{buildtime}')

# One timed run: prints wall seconds; the peak RSS (KB, largest process of the run) goes to $WORK/rss-NAME.
timed() {
    local name=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$WORK/rss-$name" "$@" >/dev/null 2>"$WORK/stderr" || true
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The three commands take turns, so that load from elsewhere on the machine hits them alike.
: >"$WORK/t-scan"
: >"$WORK/t-check"
: >"$WORK/t-query"
for _ in $(seq "$RUNS"); do
    timed scan "${PB[@]}" >>"$WORK/t-scan"
    timed check "${DNF[@]}" >>"$WORK/t-check"
    timed query "${QUERY[@]}" >>"$WORK/t-query"
done
report() {
    printf '%-34s median %6.3f s   peak RSS %6.1f MB   (runs: %s)\n' "$1" "$(median <"$WORK/t-$2")" \
        "$(echo "$(tail -n1 "$WORK/rss-$2") / 1024" | bc -l)" "$(tr '\n' ' ' <"$WORK/t-$2")"
}
report "patchbaseline scan --no-refresh" scan
report "dnf -C check-update" check
report "dnf -C repoquery (the scan's query)" query

# The peak RSS of the patchbaseline process alone (polling its VmHWM until it exits).
"${PB[@]}" >/dev/null 2>&1 &
pid=$!
hwm=0
while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$v" ] && hwm=$v
    sleep 0.002
done
wait "$pid" || true
printf 'patchbaseline process alone: peak RSS %.1f MB\n' "$(echo "$hwm / 1024" | bc -l)"
echo "ratio: $(echo "$(median <"$WORK/t-scan") / $(median <"$WORK/t-check")" | bc -l | cut -c1-5)x (goal <= 1.5x; the peak RSS above is the largest process of the run, i.e. dnf's Python)"
python3 - "$WORK/report.json" <<'EOF' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))
print("report:", {k: r["summary"][k] for k in ("MissingCount", "InstalledOtherCount", "InstalledCount")}, "patches:", len(r["patches"]))
EOF
