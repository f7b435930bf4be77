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

/// Parses every document once; returns the time taken.
fn pass<T>(docs: &[String], parse: impl Fn(&str) -> T) -> Duration {
    let start = Instant::now();
    for d in docs {
        black_box(parse(black_box(d)));
    }
    start.elapsed()
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

    let rounds = if quick { 5 } else { 21 };
    let reps = if quick { 2 } else { 5 }; // corpus passes per timed sample
    let (mut typed, mut value) = (Vec::new(), Vec::new());
    let mb = (bytes * reps) as f64 / 1e6;
    for round in 0..rounds {
        let t = || {
            pass_n(&docs, reps, |s| {
                serde_json::from_str::<fhir_c4bb::Resource>(s).ok()
            })
        };
        let v = || {
            pass_n(&docs, reps, |s| {
                serde_json::from_str::<serde_json::Value>(s).ok()
            })
        };
        // Alternate which goes first so neither always runs on a warmer cache.
        let (dt, dv) = if round % 2 == 0 {
            (t(), v())
        } else {
            let dv = v();
            (t(), dv)
        };
        typed.push(mb / dt.as_secs_f64());
        value.push(mb / dv.as_secs_f64());
    }
    let ((t, t_best), (v, v_best)) = (stats(typed), stats(value));
    println!(
        "corpus: {} documents, {:.2} MB; {rounds} interleaved samples of {reps} passes each",
        docs.len(),
        bytes as f64 / 1e6
    );
    println!("                              median      best");
    println!("typed fhir_c4bb::Resource : {t:7.1} MB/s {t_best:7.1} MB/s");
    println!("serde_json::Value          : {v:7.1} MB/s {v_best:7.1} MB/s");
    println!(
        "ratio typed / Value        : {:7.2}x    {:7.2}x",
        t / v,
        t_best / v_best
    );
    Ok(())
}

fn pass_n<T>(docs: &[String], n: usize, parse: impl Fn(&str) -> T) -> Duration {
    (0..n).map(|_| pass(docs, &parse)).sum()
}
