//! How fast version comparisons are, and proof that they never allocate.
//!
//! Run: `cargo bench --bench version` (release build). Prints nanoseconds per comparison for
//! realistic RPM and Debian versions, and exits non-zero if any comparison allocated.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cmp::Ordering;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use patchbaseline::version::{compare_deb, compare_rpm};

/// Counts every allocation so the run can show comparisons make none.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Versions shaped like a real repository's: many packages, a few builds each.
fn rpm_versions() -> Vec<String> {
    let mut v = Vec::new();
    for major in 0..20 {
        for minor in 0..10 {
            for rel in 1..6 {
                v.push(format!(
                    "{major}.{minor}.{}-{rel}.el9_{}",
                    rel * 3,
                    minor % 3
                ));
                v.push(format!("1:{major}.{minor}~rc{rel}-{rel}.fc39"));
                v.push(format!(
                    "{major}.{minor}^20240{rel}git1a2b3c-{rel}.amzn2023.0.1"
                ));
            }
        }
    }
    v
}

fn deb_versions() -> Vec<String> {
    let mut v = Vec::new();
    for major in 0..20 {
        for minor in 0..10 {
            for rev in 1..6 {
                v.push(format!(
                    "{major}.{minor}.{}-{rev}+deb12u{}",
                    rev * 3,
                    minor % 3
                ));
                v.push(format!("1:{major}.{minor}~rc{rev}-{rev}ubuntu0.22.04.1"));
                v.push(format!("{major}.{minor}+dfsg-{rev}build1"));
            }
        }
    }
    v
}

/// Compare every version with its neighbours `rounds` times; returns (comparisons, ns each,
/// allocations made).
fn measure(
    versions: &[String],
    cmp: fn(&str, &str) -> Ordering,
    rounds: usize,
) -> (usize, f64, usize) {
    let before = ALLOCATIONS.load(Relaxed);
    let start = Instant::now();
    let mut n = 0usize;
    let mut less = 0usize;
    for _ in 0..rounds {
        for w in versions.windows(8) {
            for other in &w[1..] {
                if cmp(black_box(&w[0]), black_box(other)).is_lt() {
                    less += 1;
                }
                n += 1;
            }
        }
    }
    let elapsed = start.elapsed();
    let allocations = ALLOCATIONS.load(Relaxed) - before;
    black_box(less);
    (n, elapsed.as_nanos() as f64 / n as f64, allocations)
}

fn main() {
    let mut failed = false;
    for (name, versions, cmp) in [
        (
            "rpm",
            rpm_versions(),
            compare_rpm as fn(&str, &str) -> Ordering,
        ),
        (
            "deb",
            deb_versions(),
            compare_deb as fn(&str, &str) -> Ordering,
        ),
    ] {
        measure(&versions, cmp, 2); // warm up
        let (n, ns, allocations) = measure(&versions, cmp, 100);
        println!("{name}: {n} comparisons, {ns:.1} ns each, {allocations} allocations");
        failed |= allocations != 0;
    }
    if failed {
        eprintln!("error: a comparison allocated");
        std::process::exit(1);
    }
}
