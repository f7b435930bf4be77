//! No body may cost unbounded memory: for every hostile shape, the parse's peak live heap
//! stays within 16 bytes per body byte + 64 MiB (issue 11, part 2), and real pages cost
//! what they did.
//!
//! Its own test binary with one test: the counting allocator sees the whole process, so
//! nothing else may run while it measures.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use fhir_c4bb::{Bundle, ParseError, Resource};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

const MIB: usize = 1 << 20;

/// The promised bound for a body of `len` bytes.
fn bound(len: usize) -> usize {
    16 * len + 64 * MIB
}

/// Parses `body`, returning the result and the peak live heap above what was live before.
fn peak_of(body: &str) -> (Result<Resource, ParseError>, usize) {
    let before = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let result = fhir_c4bb::from_str::<Resource>(body);
    let peak = ALLOC.peak_usage().saturating_sub(before);
    (result, peak)
}

/// `n` copies of `item` joined by commas, inside `open` … `close`.
fn repeated(open: &str, item: &str, n: usize, close: &str) -> String {
    let mut s = String::with_capacity(open.len() + n * (item.len() + 1) + close.len());
    s.push_str(open);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(item);
    }
    s.push_str(close);
    s
}

/// A searchset page of every C4BB example EOB in the fixtures, pretty-printed as payers do.
fn real_page() -> String {
    let mut entries = Vec::new();
    for p in common::fixture_paths() {
        let text = std::fs::read_to_string(&p).unwrap();
        if text.contains("\"ExplanationOfBenefit\"")
            && text.contains("\"resourceType\": \"ExplanationOfBenefit\"")
            || text.contains("\"resourceType\":\"ExplanationOfBenefit\"")
        {
            entries.push(format!(
                "{{\"fullUrl\": \"https://payer.example/fhir/ExplanationOfBenefit/{}\", \"resource\": {text}, \"search\": {{\"mode\": \"match\"}}}}",
                entries.len()
            ));
        }
    }
    assert!(entries.len() >= 20, "{}", entries.len());
    format!(
        "{{\"resourceType\": \"Bundle\", \"type\": \"searchset\", \"total\": {}, \"entry\": [\n{}\n]}}",
        entries.len(),
        entries.join(",\n")
    )
}

#[test]
fn peak_memory_is_bounded_by_body_size_for_every_shape() {
    let hostile: Vec<(&str, String)> = vec![
        (
            "2M `{}` searchset entries",
            repeated(
                r#"{"resourceType":"Bundle","type":"searchset","entry":["#,
                "{}",
                2_000_000,
                "]}",
            ),
        ),
        (
            "2M empty extensions",
            repeated(
                r#"{"resourceType":"Patient","extension":["#,
                "{}",
                2_000_000,
                "]}",
            ),
        ),
        (
            "2M empty nested extensions",
            repeated(
                r#"{"resourceType":"Patient","extension":[{"url":"u","extension":["#,
                "{}",
                2_000_000,
                "]}]}",
            ),
        ),
        (
            "300k contained resources",
            repeated(
                r#"{"resourceType":"ExplanationOfBenefit","contained":["#,
                r#"{"resourceType":"Patient"}"#,
                300_000,
                "]}",
            ),
        ),
        (
            "2M one-letter given names",
            repeated(
                r#"{"resourceType":"Patient","name":[{"given":["#,
                r#""a""#,
                2_000_000,
                "]}]}",
            ),
        ),
        ("1M one-letter unknown members", {
            let mut s = String::from(r#"{"resourceType":"Patient","#);
            for i in 0..1_000_000u32 {
                s.push_str(&format!("\"{i:x}\":0,"));
            }
            s.push_str(r#""id":"x"}"#);
            s
        }),
        (
            "2M empty arrays where objects belong (kept raw)",
            repeated(
                r#"{"resourceType":"Patient","name":["#,
                "[]",
                2_000_000,
                "]}",
            ),
        ),
        (
            "2M empty arrays in a null-holed array (kept raw)",
            repeated(
                r#"{"resourceType":"Patient","name":[null,"#,
                "{}",
                2_000_000,
                "]}",
            ),
        ),
        (
            "deep arrays, 120 levels x 20k",
            repeated(
                r#"{"resourceType":"Patient","name":["#,
                &format!("{}{}", "[".repeat(120), "]".repeat(120)),
                20_000,
                "]}",
            ),
        ),
        (
            "1M members before a late resourceType",
            repeated(
                r#"{"a":["#,
                "{}",
                1_000_000,
                r#"],"contained":[{}],"resourceType":"ExplanationOfBenefit"}"#,
            ),
        ),
    ];
    for (name, body) in &hostile {
        let (result, peak) = peak_of(body);
        let len = body.len();
        println!(
            "{name}: body {:.1} MB, peak {:.1} MiB ({:.1} B/body byte), bound {:.1} MiB, {}",
            len as f64 / 1e6,
            peak as f64 / MIB as f64,
            peak as f64 / len as f64,
            bound(len) as f64 / MIB as f64,
            match &result {
                Ok(_) => "parsed".to_owned(),
                Err(e) if e.is_memory_budget() => "memory budget exceeded".to_owned(),
                Err(e) => format!("error: {e}"),
            }
        );
        assert!(
            peak <= bound(len),
            "{name}: peak {peak} > bound {}",
            bound(len)
        );
        if let Err(e) = &result {
            assert!(e.is_memory_budget(), "{name}: {e}");
        }
        drop(result);
    }

    // A hostile body small enough to fit the budget parses, and stays within the bound too.
    let small = repeated(
        r#"{"resourceType":"Bundle","type":"searchset","entry":["#,
        "{}",
        10_000,
        "]}",
    );
    let (result, peak) = peak_of(&small);
    assert!(result.is_ok());
    assert!(peak <= bound(small.len()));

    // A real page is far below the budget and costs what it did (2-5x its size).
    let page = real_page();
    let (result, peak) = peak_of(&page);
    let bundle = result.unwrap();
    let n = bundle.as_bundle().map(Bundle::eobs).map(Iterator::count);
    println!(
        "real C4BB page ({n:?} EOBs): body {:.2} MB, peak {:.2} MiB ({:.1} B/body byte)",
        page.len() as f64 / 1e6,
        peak as f64 / MIB as f64,
        peak as f64 / page.len() as f64
    );
    assert!(
        peak <= 6 * page.len(),
        "real page: {peak} bytes for {}",
        page.len()
    );
}
