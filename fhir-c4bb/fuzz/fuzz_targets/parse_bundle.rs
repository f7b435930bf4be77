//! Search pages: any bytes as the entries of a searchset Bundle (so the fuzzer spends its
//! time inside entries, not on finding `{"resourceType":"Bundle"`), and the bytes alone
//! as a Bundle. Parsing must not panic; whatever parses must serialise to a fixed point,
//! and the page views (validate, matches, claims table, links) must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn check(body: &[u8]) {
    let bundle = match fhir_c4bb::from_slice::<fhir_c4bb::Bundle>(body) {
        Ok(b) => b,
        Err(e) => {
            // Lenient: only non-JSON, a wrong top-level type or the memory budget fail.
            let _ = (e.is_syntax(), e.is_memory_budget(), e.path());
            return;
        }
    };
    let _ = bundle.validate();
    let _ = bundle.link("next");
    let _ = bundle.total();
    let _ = bundle.matches().count();
    let _ = fhir_c4bb::money::ClaimsTable::from_eobs(bundle.eobs());
    for e in bundle.eobs() {
        let _ = e.profile();
        let _ = e.claim_row().billed.map(|m| m.to_string());
    }
    let Ok(text) = serde_json::to_string(&bundle) else {
        panic!("a parsed page failed to serialise");
    };
    let again: fhir_c4bb::Bundle = match fhir_c4bb::from_str(&text) {
        Ok(b) => b,
        Err(e) => panic!("our own output failed to parse: {e}\n{text}"),
    };
    let text2 = serde_json::to_string(&again).unwrap_or_default();
    assert_eq!(text, text2, "serialisation is not a fixed point");
}

fuzz_target!(|data: &[u8]| {
    let mut page = br#"{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"n"}],"entry":["#.to_vec();
    page.extend_from_slice(data);
    page.extend_from_slice(b"]}");
    check(&page);
    check(data);
});
