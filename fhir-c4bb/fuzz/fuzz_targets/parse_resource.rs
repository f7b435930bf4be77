//! Any bytes: parsing as `Resource` must not panic, and whatever parses must serialise,
//! parse again and serialise to the same text (our output is a fixed point), and the
//! C4BB views (validate, profile, money) must not panic on it either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(resource) = fhir_c4bb::from_slice::<fhir_c4bb::Resource>(data) else {
        return;
    };
    let _ = resource.validate();
    if let Some(eob) = resource.as_eob() {
        let _ = eob.profile();
        let _ = eob.claim_row();
    }
    if let Some(bundle) = resource.as_bundle() {
        let _ = fhir_c4bb::money::ClaimsTable::from_eobs(bundle.eobs());
    }
    let Ok(text) = serde_json::to_string(&resource) else {
        panic!("a parsed resource failed to serialise");
    };
    let again: fhir_c4bb::Resource = match fhir_c4bb::from_str(&text) {
        Ok(r) => r,
        Err(e) => panic!("our own output failed to parse: {e}\n{text}"),
    };
    let text2 = serde_json::to_string(&again).unwrap_or_default();
    assert_eq!(text, text2, "serialisation is not a fixed point");
});
