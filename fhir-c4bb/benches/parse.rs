//! Throughput of parsing the fixture corpus as typed `Resource` vs `serde_json::Value`,
//! interleaved in one process so both see the same machine state.
//!
//! `cargo bench -p fhir-c4bb` prints MB/s for each and the ratio (target: typed ≥ 1.5×).

use std::hint::black_box;
use std::time::{Duration, Instant};

fn corpus() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "json")
                && let Ok(text) = std::fs::read_to_string(&p)
            {
                files.push(text);
            }
        }
    }
    files
}

/// This thread's CPU time in ns (Linux `schedstat`), so that time other processes take
/// on a shared machine does not count; `None` elsewhere (then wall-clock is used).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Runs `f`, returning the time it took on this thread's CPU (or on the wall clock).
fn timed(f: impl FnOnce()) -> Duration {
    let (cpu0, wall0) = (thread_cpu_ns(), Instant::now());
    f();
    match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Duration::from_nanos(b - a),
        _ => wall0.elapsed(),
    }
}

/// Parses every document once.
fn pass<T>(docs: &[String], parse: impl Fn(&str) -> T) {
    for d in docs {
        black_box(parse(black_box(d)));
    }
}

/// Median and best of the samples (MB/s).
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1])
}

fn main() -> Result<(), String> {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing useful.
    let quick = std::env::args().any(|a| a == "--quick");
    let docs = corpus();
    let bytes: usize = docs.iter().map(String::len).sum();
    if docs.is_empty() {
        return Err("no fixtures found".into());
    }
    // Everything must parse (and the round-trip test proves it is lossless).
    for d in &docs {
        fhir_c4bb::from_str::<fhir_c4bb::Resource>(d)
            .map_err(|e| format!("fixture failed to parse: {e}"))?;
    }

    let rounds = if quick { 5 } else { 31 };
    let reps = if quick { 2 } else { 5 }; // corpus passes per timed sample
    let (mut typed, mut value, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mb = (bytes * reps) as f64 / 1e6;
    let clock = if thread_cpu_ns().is_some() {
        "thread CPU time"
    } else {
        "wall clock"
    };
    for round in 0..rounds {
        let t = || {
            timed(|| {
                pass_n(&docs, reps, |s| {
                    serde_json::from_str::<fhir_c4bb::Resource>(s).ok()
                })
            })
        };
        let v = || {
            timed(|| {
                pass_n(&docs, reps, |s| {
                    serde_json::from_str::<serde_json::Value>(s).ok()
                })
            })
        };
        // Alternate which goes first so neither always runs on a warmer cache.
        let (dt, dv) = if round % 2 == 0 {
            (t(), v())
        } else {
            let dv = v();
            (t(), dv)
        };
        let (mt, mv) = (mb / dt.as_secs_f64(), mb / dv.as_secs_f64());
        typed.push(mt);
        value.push(mv);
        ratios.push(mt / mv);
    }
    let ((t, t_best), (v, v_best), (r, _)) = (stats(typed), stats(value), stats(ratios));
    println!(
        "corpus: {} documents, {:.2} MB; {rounds} interleaved rounds of {reps} passes each; {clock}",
        docs.len(),
        bytes as f64 / 1e6
    );
    println!("                              median      best");
    println!("typed fhir_c4bb::Resource : {t:7.1} MB/s {t_best:7.1} MB/s");
    println!("serde_json::Value          : {v:7.1} MB/s {v_best:7.1} MB/s");
    println!("ratio typed / Value        : {r:7.2}x (median of per-round ratios)");
    Ok(())
}

fn pass_n<T>(docs: &[String], n: usize, parse: impl Fn(&str) -> T) {
    for _ in 0..n {
        pass(docs, &parse);
    }
}
