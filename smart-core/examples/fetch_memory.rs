//! Peak live heap of a FHIR search stream: 200 EOBs against 20,000 EOBs (pages of 50), with read-ahead (the
//! default) and one page at a time. A stream holds a page or two whatever the member's history, so the two
//! should be close (target: at most 2x).
//!
//! Measured with a counting global allocator (peak live bytes, not RSS); the payer runs in a child process, so
//! only the client's allocations count.
//!
//! Run in release mode: `cargo run --release -p smart-core --example fetch_memory`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bench_support;

use bench_support::slow_payer::{self, SlowPayer};
use bench_support::{member, mode, pool, sync};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

fn main() {
    slow_payer::serve_if_asked();
    bench_support::runtime().block_on(run());
}

async fn run() {
    let payer = SlowPayer::start();
    let base = payer.fhir_base();
    for read_ahead in [true, false] {
        let p = pool(&base, 8, read_ahead);
        assert_eq!(sync(member(&p, "warm-2x50".into())).await, 100);
        let peak = |patient: &'static str, want: usize| {
            let p = p.clone();
            async move {
                let before = ALLOC.current_usage();
                ALLOC.reset_peak_usage();
                assert_eq!(sync(member(&p, patient.into())).await, want);
                ALLOC.peak_usage().saturating_sub(before)
            }
        };
        let small = peak("mem-4x50", 200).await;
        let large = peak("mem-400x50", 20_000).await;
        println!(
            "[3] {}: peak live heap above baseline: 200 EOBs {:.2} MiB, 20,000 EOBs {:.2} MiB; ratio {:.2} (target <= 2.0)",
            mode(read_ahead),
            small as f64 / 1048576.0,
            large as f64 / 1048576.0,
            large as f64 / small as f64
        );
    }
}
