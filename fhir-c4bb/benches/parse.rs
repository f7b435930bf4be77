//! Throughput of parsing the fixture corpus as typed `Resource` vs `serde_json::Value`,
//! interleaved in one process so both see the same machine state.
//!
//! Two corpora: the C4BB fixtures (one document per resource), and two pretty-printed
//! transaction Bundles of US Core clinical resources (6.1.0 and 9.0.0 examples, a few
//! hundred entries each) built here from `tests/us-core/`.
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

/// One pretty-printed transaction Bundle per US Core version: every example of a typed
/// resource type, each entry's resource as the HL7 file has it (indented, exact digits).
fn us_core_bundles() -> Result<Vec<String>, String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/us-core");
    let mut out = Vec::new();
    for version in ["ig-6.1.0", "ig-9.0.0"] {
        let mut paths: Vec<_> = std::fs::read_dir(format!("{root}/{version}"))
            .map_err(|e| format!("{root}/{version}: {e}"))?
            .flatten()
            .map(|f| f.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        let mut entries = Vec::new();
        for (i, p) in paths.iter().enumerate() {
            let text = std::fs::read_to_string(p).map_err(|e| e.to_string())?;
            let r: fhir_c4bb::Resource = fhir_c4bb::from_str(&text).map_err(|e| e.to_string())?;
            let rt = r.resource_type().to_owned();
            if matches!(
                r,
                fhir_c4bb::Resource::Other(_) | fhir_c4bb::Resource::Bundle(_)
            ) {
                continue;
            }
            let body = text.trim().replace('\n', "\n      ");
            entries.push(format!(
                "    {{\n      \"fullUrl\": \"urn:uuid:00000000-0000-4000-8000-{i:012}\",\n      \"resource\": {body},\n      \"request\": {{\n        \"method\": \"POST\",\n        \"url\": \"{rt}\"\n      }}\n    }}"
            ));
        }
        out.push(format!(
            "{{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"transaction\",\n  \"entry\": [\n{}\n  ]\n}}\n",
            entries.join(",\n")
        ));
    }
    Ok(out)
}

/// Checks that a corpus parses typed (no `Other` entries in the US Core bundles) and
/// writes back to the same JSON value; the test suite checks the digits themselves.
fn check(docs: &[String], bundles: bool) -> Result<(), String> {
    for d in docs {
        let r: fhir_c4bb::Resource =
            fhir_c4bb::from_str(d).map_err(|e| format!("failed to parse: {e}"))?;
        if bundles {
            let b = r.as_bundle().ok_or("not a Bundle")?;
            if b.entries()
                .any(|e| matches!(e, fhir_c4bb::Resource::Other(_)))
            {
                return Err("an entry was not typed".into());
            }
            let back = serde_json::to_string(&r).map_err(|e| e.to_string())?;
            let a: serde_json::Value = serde_json::from_str(d).map_err(|e| e.to_string())?;
            let b: serde_json::Value = serde_json::from_str(&back).map_err(|e| e.to_string())?;
            if a != b {
                return Err("the bundle did not round-trip".into());
            }
        }
    }
    Ok(())
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
    let c4bb = corpus();
    if c4bb.is_empty() {
        return Err("no fixtures found".into());
    }
    check(&c4bb, false)?;
    let us_core = us_core_bundles()?;
    check(&us_core, true)?;
    measure("C4BB fixtures, one document per resource", &c4bb, quick);
    let entries: usize = us_core
        .iter()
        .filter_map(|d| fhir_c4bb::from_str::<fhir_c4bb::Bundle>(d).ok())
        .map(|b| b.entry.len())
        .sum();
    measure(
        &format!("US Core transaction Bundles, pretty-printed, {entries} entries"),
        &us_core,
        quick,
    );
    Ok(())
}

/// Interleaved rounds of typed and `Value` parsing of `docs`; prints median and best.
fn measure(name: &str, docs: &[String], quick: bool) {
    let bytes: usize = docs.iter().map(String::len).sum();
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
                pass_n(docs, reps, |s| {
                    serde_json::from_str::<fhir_c4bb::Resource>(s).ok()
                })
            })
        };
        let v = || {
            timed(|| {
                pass_n(docs, reps, |s| {
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
        "{name}: {} documents, {:.2} MB; {rounds} interleaved rounds of {reps} passes each; {clock}",
        docs.len(),
        bytes as f64 / 1e6
    );
    println!("                              median      best");
    println!("typed fhir_c4bb::Resource : {t:7.1} MB/s {t_best:7.1} MB/s");
    println!("serde_json::Value          : {v:7.1} MB/s {v_best:7.1} MB/s");
    println!("ratio typed / Value        : {r:7.2}x (median of per-round ratios)");
}

fn pass_n<T>(docs: &[String], n: usize, parse: impl Fn(&str) -> T) {
    for _ in 0..n {
        pass(docs, &parse);
    }
}
