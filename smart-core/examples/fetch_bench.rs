//! Benchmark of the FHIR fetch layer against a loopback payer that answers each request 20 ms after it
//! arrives (`bench_support/slow_payer.rs`, in a child process). Prints two figures:
//!
//! 1. one member, 2,000 EOBs in pages of 50: time against the critical path (40 sequential pages x 20 ms),
//!    with read-ahead (the default) against a payer that writes each page's `next` link before its entries
//!    (the Bundle's element order, as most servers write it) and one that writes it after them (the worst
//!    case), and one page at a time;
//! 2. 200 members at once through one pool capped at 32 requests: throughput against what the cap allows
//!    (32 requests per 20 ms), with pages of 10 EOBs and of 1.
//!
//! First it measures the floor: what a bare reqwest client reaches against the same payer on this machine.
//! Memory is measured by `fetch_memory`, whose counting allocator would slow these down.
//!
//! Run in release mode: `cargo run --release -p smart-core --example fetch_bench` (`-- 0`, `-- 1` or `-- 2` for one scenario;
//! `-- 2:1` for scenario 2 with 1-EOB pages only).
//! The EOB is a real C4BB example (benches/data/eob-professional1.json, see benches/data/SOURCES.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bench_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_support::slow_payer::{self, LATENCY, SlowPayer};
use bench_support::{cpu_note, cpu_time, member, mode, pool, sync};

fn main() {
    slow_payer::serve_if_asked();
    bench_support::runtime().block_on(run());
}

async fn run() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |n: &str| {
        only.is_empty()
            || only
                .iter()
                .any(|a| a == n || a.starts_with(&format!("{n}:")))
    };
    let page = slow_payer::page(50);
    println!(
        "fixture: C4BB EOBProfessional1; a page of 50 is {} bytes",
        page.len()
    );
    // What one page costs the client's CPU, whatever the network: parsing 50 typed EOBs.
    let mut decode = Duration::MAX;
    for _ in 0..10 {
        let started = Instant::now();
        let bundle: fhir_c4bb::Resource = fhir_c4bb::from_slice(&page).unwrap();
        drop(std::hint::black_box(bundle));
        decode = decode.min(started.elapsed());
    }
    println!(
        "decoding one page of 50 EOBs: {:.2} ms ({:.0} MB/s), best of 10",
        decode.as_secs_f64() * 1e3,
        page.len() as f64 / decode.as_secs_f64() / 1e6
    );
    let payer = SlowPayer::start();
    let base = payer.fhir_base();

    // 0. What this machine allows at all: a bare reqwest client, no SDK, reading the same bodies without
    //    decoding them. The SDK's figures below are best read against these.
    if wanted("0") {
        let http = reqwest::Client::new();
        let floor_base = Arc::new(base.clone());
        let get = move |patient: String, page: usize| {
            let http = http.clone();
            let url = format!("{floor_base}/ExplanationOfBenefit?patient={patient}&page={page}");
            async move {
                http.get(url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
                    .len()
            }
        };
        get("warm-1x50".into(), 1).await;
        let mut runs = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            for page in 1..=40 {
                assert!(get("m-40x50".into(), page).await > 600_000);
            }
            runs.push(started.elapsed());
        }
        runs.sort();
        let critical = LATENCY * 40;
        println!(
            "[0] floor, bare reqwest: 40 sequential pages of 50 EOBs, bodies read, not decoded: best {:.1} ms, median {:.1} ms; ratio {:.3} best, {:.3} median",
            runs[0].as_secs_f64() * 1e3,
            runs[2].as_secs_f64() * 1e3,
            runs[0].as_secs_f64() / critical.as_secs_f64(),
            runs[2].as_secs_f64() / critical.as_secs_f64(),
        );
        for size in [10, 1] {
            let cap = Arc::new(tokio::sync::Semaphore::new(32));
            let request = |i: usize| {
                let (cap, get) = (cap.clone(), get.clone());
                tokio::spawn(async move {
                    let _permit = cap.acquire().await.unwrap();
                    get(format!("f{i}-1x{size}"), 1).await
                })
            };
            futures::future::try_join_all((0..32).map(request))
                .await
                .unwrap();
            let started = Instant::now();
            futures::future::try_join_all((0..1000).map(request))
                .await
                .unwrap();
            let took = started.elapsed();
            let allowed = 32.0 / LATENCY.as_secs_f64();
            println!(
                "[0] floor, bare reqwest: 1000 requests for pages of {size} EOB(s), 32 at a time: {:.0} ms; {:.1}% of what the cap allows",
                took.as_secs_f64() * 1e3,
                100.0 * 1000.0 / took.as_secs_f64() / allowed
            );
        }
    }

    // 1. One member, 2,000 EOBs, pages of 50: 40 sequential pages.
    if wanted("1") {
        // (read-ahead, where the payer writes the `next` link)
        for (read_ahead, link) in [(true, "first"), (true, "last"), (false, "first")] {
            let p = pool(&base, 8, read_ahead);
            let name = if link == "last" { "linklast" } else { "m" };
            // Warm up: the connection, the allocator, the page cache.
            assert_eq!(sync(member(&p, format!("warm{name}-2x50"))).await, 100);
            let mut runs = Vec::new();
            let mut best_cpu = String::new();
            for _ in 0..5 {
                let cpu = cpu_time();
                let started = Instant::now();
                assert_eq!(sync(member(&p, format!("{name}-40x50"))).await, 2000);
                let took = started.elapsed();
                if runs.iter().all(|r| took < *r) {
                    best_cpu = cpu_note(cpu, took, 40);
                }
                runs.push(took);
            }
            runs.sort();
            let critical = LATENCY * 40;
            let ratio = |d: Duration| d.as_secs_f64() / critical.as_secs_f64();
            println!(
                "[1] {}, link {link}: 2,000 EOBs / 40 pages of 50, one member: best {:.1} ms, median {:.1} ms of 5; critical path {} ms; ratio {:.3} best, {:.3} median (target <= 1.10){best_cpu}",
                mode(read_ahead),
                runs[0].as_secs_f64() * 1e3,
                runs[2].as_secs_f64() * 1e3,
                critical.as_millis(),
                ratio(runs[0]),
                ratio(runs[2]),
            );
        }
    }

    // 2. 200 members at once through one pool capped at 32.
    if wanted("2") {
        // Pages of 10 EOBs measure the whole client; pages of 1 EOB mostly the pool's scheduling.
        let sizes: &[usize] = if only.iter().any(|a| a == "2:1") {
            &[1]
        } else {
            &[10, 1]
        };
        for &size in sizes {
            let cap = 32;
            let p = pool(&base, cap, true);
            let (members, pages) = (200, 5);
            // A backend's pool has its connections open: warm all 32 before timing.
            let warm = (0..cap).map(|i| tokio::spawn(sync(member(&p, format!("w{i}-1x{size}")))));
            futures::future::try_join_all(warm).await.unwrap();
            payer.max_in_flight();
            let cpu = cpu_time();
            let started = Instant::now();
            // Each member in its own task, as a backend would run them, so that they spread over the workers.
            let syncs = (0..members)
                .map(|i| tokio::spawn(sync(member(&p, format!("m{i}-{pages}x{size}")))));
            let counts: Vec<usize> = futures::future::try_join_all(syncs).await.unwrap();
            let took = started.elapsed();
            assert!(counts.iter().all(|n| *n == pages * size));
            let requests = members * pages;
            let allowed = cap as f64 / LATENCY.as_secs_f64();
            let achieved = requests as f64 / took.as_secs_f64();
            println!(
                "[2] {members} members x {pages} pages of {size} EOB(s), cap {cap}: {requests} requests in {:.0} ms = {achieved:.0} req/s; the cap allows {allowed:.0} req/s; {:.1}% (target >= 90%); payer saw at most {} in flight{}",
                took.as_secs_f64() * 1e3,
                100.0 * achieved / allowed,
                payer.max_in_flight(),
                cpu_note(cpu, took, requests)
            );
        }
    }
}
