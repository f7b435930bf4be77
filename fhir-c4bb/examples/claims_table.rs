//! Prints the claims table a cost-transparency app would show, for the IG example EOBs:
//! service date, claim type, provider, billed, plan paid, member owes, with totals.
//!
//! `cargo run -p fhir-c4bb --example claims_table`

use fhir_c4bb::money::ClaimsTable;
use fhir_c4bb::{ExplanationOfBenefit, Money};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ig-2.1.0");
    let mut eobs: Vec<ExplanationOfBenefit> = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        if let fhir_c4bb::Resource::ExplanationOfBenefit(eob) = fhir_c4bb::from_str(&text)? {
            eobs.push(*eob);
        }
    }
    let table = ClaimsTable::from_eobs(&eobs);
    let money = |m: &Option<Money>| {
        m.as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "{:<12} {:<13} {:<34} {:>14} {:>14} {:>14}",
        "date", "type", "provider", "billed", "plan paid", "member owes"
    );
    for r in &table.rows {
        let date = r.service_date.as_ref().map(|d| d.as_str()).unwrap_or("-");
        let provider: String = r
            .provider
            .as_deref()
            .unwrap_or("-")
            .chars()
            .take(34)
            .collect();
        println!(
            "{date:<12} {:<13} {provider:<34} {:>14} {:>14} {:>14}",
            r.claim_type,
            money(&r.billed),
            money(&r.plan_paid),
            money(&r.member_owes)
        );
    }
    println!(
        "{:<61} {:>14} {:>14} {:>14}",
        "total",
        money(&table.billed_total),
        money(&table.plan_paid_total),
        money(&table.member_owes_total)
    );
    Ok(())
}
