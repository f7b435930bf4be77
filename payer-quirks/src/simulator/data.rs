//! The simulated member: C4BB example resources rewritten so that every one of them belongs to one Patient.

use serde_json::{Value, json};

use super::SimError;
use super::fixtures::{FILES, PRIOR_AUTH_EXAMPLE, US_CORE};

/// What the simulator serves for its member.
#[derive(Debug, Clone)]
pub(crate) struct MemberData {
    pub patient: Value,
    pub coverages: Vec<Value>,
    /// Sorted by id, so paging is stable. Claims, then (for payers under CMS-0057-F) the prior
    /// authorizations as they stand on day 0.
    pub eobs: Vec<Value>,
    /// What changes from day 1 on ([`Simulator::advance_day`](super::Simulator::advance_day)): the later
    /// version of a prior authorization, replacing the EOB with the same id.
    pub later: Vec<Value>,
    /// Organizations and Practitioners the claims reference.
    pub others: Vec<Value>,
    /// The member's US Core clinical records (Condition, Observation, ...) of the types the payer serves,
    /// sorted by type then id ([`with_clinical`](Self::with_clinical)).
    pub clinical: Vec<Value>,
    /// The Location, Medication, Organization and Practitioner examples those records reference.
    pub clinical_referenced: Vec<Value>,
}

impl MemberData {
    /// Every resource with this type and id, as it stands on `day`.
    pub(crate) fn find(&self, resource_type: &str, id: &str, day: u32) -> Option<&Value> {
        let later = (day > 0)
            .then(|| {
                self.later
                    .iter()
                    .find(|r| r["resourceType"] == resource_type && r["id"] == id)
            })
            .flatten();
        later.or_else(|| {
            std::iter::once(&self.patient)
                .chain(&self.coverages)
                .chain(&self.eobs)
                .chain(&self.others)
                .chain(&self.clinical)
                .chain(&self.clinical_referenced)
                .find(|r| r["resourceType"] == resource_type && r["id"] == id)
        })
    }

    /// The clinical records of `resource_type` (a searched type), or for a type outside the Patient
    /// compartment the referenced examples of it, in id order.
    pub(crate) fn clinical_of(&self, resource_type: &str) -> Vec<Value> {
        self.clinical
            .iter()
            .chain(&self.clinical_referenced)
            .filter(|r| r["resourceType"] == resource_type)
            .cloned()
            .collect()
    }

    /// Adds the member's clinical records: every embedded US Core example whose type is in `served` (the payer
    /// module's resource list), its `Patient/example` references pointing at the member, and, when any is
    /// served, the referenced Location, Medication, Organization and Practitioner examples (readable by id;
    /// searchable where `served` lists them).
    pub(crate) fn with_clinical(mut self, served: &[String]) -> Result<Self, SimError> {
        let member_ref = format!(
            "Patient/{}",
            self.patient["id"].as_str().unwrap_or_default()
        );
        let mut clinical = Vec::new();
        let mut referenced = Vec::new();
        for (name, text) in US_CORE {
            let mut value: Value =
                serde_json::from_str(text).map_err(|e| SimError::Data(format!("{name}: {e}")))?;
            rewrite_us_core_patient(&mut value, &member_ref);
            let ty = value["resourceType"]
                .as_str()
                .ok_or_else(|| SimError::Data(format!("{name}: no resourceType")))?
                .to_owned();
            if US_CORE_REFERENCED.contains(&ty.as_str()) {
                referenced.push(value);
            } else if served.contains(&ty) {
                clinical.push(value);
            }
        }
        if clinical.is_empty() {
            referenced.clear();
        }
        let key = |v: &Value| {
            (
                v["resourceType"].as_str().unwrap_or_default().to_owned(),
                v["id"].as_str().unwrap_or_default().to_owned(),
            )
        };
        clinical.sort_by_key(key);
        referenced.sort_by_key(key);
        self.clinical = clinical;
        self.clinical_referenced = referenced;
        Ok(self)
    }

    /// The EOBs as they stand on `day`, in id order.
    pub(crate) fn eobs_on(&self, day: u32) -> Vec<Value> {
        self.eobs
            .iter()
            .map(|e| {
                let later = (day > 0)
                    .then(|| self.later.iter().find(|l| l["id"] == e["id"]))
                    .flatten();
                later.unwrap_or(e).clone()
            })
            .collect()
    }
}

/// Types of the US Core examples that are not the member's records but referenced by them.
const US_CORE_REFERENCED: &[&str] = &["Location", "Medication", "Organization", "Practitioner"];

/// The US Core examples' patient.
const US_CORE_PATIENT: &str = "Patient/example";

fn rewrite_us_core_patient(value: &mut Value, member_ref: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "reference"
                    && let Value::String(s) = v
                    && s == US_CORE_PATIENT
                {
                    *s = member_ref.to_owned();
                    continue;
                }
                rewrite_us_core_patient(v, member_ref);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rewrite_us_core_patient(v, member_ref)),
        _ => {}
    }
}

/// The example patients whose references are rewritten to the member.
const EXAMPLE_PATIENTS: &[&str] = &["Patient/Patient1", "Patient/Patient2"];

/// Builds the member with Patient id `patient_id` from the embedded examples, with the five prior
/// authorizations when `prior_authorizations` (payers under CMS-0057-F).
pub(crate) fn build(patient_id: &str, prior_authorizations: bool) -> Result<MemberData, SimError> {
    let member_ref = format!("Patient/{patient_id}");
    let mut patient = None;
    let mut coverages = Vec::new();
    let mut eobs = Vec::new();
    let mut others = Vec::new();
    for (name, text) in FILES {
        let mut value: Value =
            serde_json::from_str(text).map_err(|e| SimError::Data(format!("{name}: {e}")))?;
        rewrite_references(&mut value, &member_ref);
        let stu2 = name.starts_with("v2.0.0__");
        match value["resourceType"].as_str() {
            Some("Patient") => {
                value["id"] = Value::String(patient_id.to_owned());
                patient = Some(value);
            }
            Some("Coverage") => coverages.push(value),
            Some("ExplanationOfBenefit") => {
                if stu2 {
                    // The 2.0.0 examples reuse the 2.1.0 ids; keep both apart.
                    let id = value["id"].as_str().unwrap_or_default().to_owned();
                    value["id"] = Value::String(format!("{id}-stu2"));
                }
                eobs.push(value);
            }
            Some(_) => others.push(value),
            None => return Err(SimError::Data(format!("{name}: no resourceType"))),
        }
    }
    let patient = patient.ok_or_else(|| SimError::Data("no Patient example embedded".into()))?;
    let mut later = Vec::new();
    if prior_authorizations {
        let (now, then) = prior_auths(&member_ref)?;
        eobs.extend(now);
        later = then;
    }
    let by_id = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();
    eobs.sort_by_key(by_id);
    coverages.sort_by_key(by_id);
    Ok(MemberData {
        patient,
        coverages,
        eobs,
        later,
        others,
        clinical: Vec::new(),
        clinical_referenced: Vec::new(),
    })
}

const X12_306: &str = "https://codesystem.x12.org/005010/306";
const REVIEW_ACTION: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewAction";
const REVIEW_ACTION_CODE: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewActionCode";
const WHEN_ADJUDICATED: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/base-ext-when-adjudicated";
const PDEX_DISCRIMINATOR: &str =
    "http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PDexAdjudicationDiscriminator";

/// One decision: the PDex `reviewAction` (X12 306 code, review number, reasons) and when it was made.
fn decision(code: &str, display: &str, number: &str, when: &str, reasons: &[&str]) -> Value {
    let mut parts = vec![
        json!({"url": "number", "valueString": number}),
        json!({"url": REVIEW_ACTION_CODE, "valueCodeableConcept": {"coding": [{"system": X12_306, "code": code, "display": display}]}}),
    ];
    parts.extend(
        reasons
            .iter()
            .map(|r| json!({"url": "reasonCode", "valueCodeableConcept": {"text": r}})),
    );
    json!([
        {"url": REVIEW_ACTION, "extension": parts},
        {"url": WHEN_ADJUDICATED, "valueDateTime": when},
    ])
}

/// A requested service: a CPT code, units asked for, and the amount submitted.
fn service(item: &mut Value, code: &str, display: &str, units: u32, submitted: u32) {
    item["productOrService"] = json!({"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code, "display": display}], "text": display});
    item["quantity"] = json!({"value": units});
    item["adjudication"][0]["amount"]["value"] = json!(submitted);
}

/// Appends an adjudication line to an item.
fn push_line(item: &mut Value, line: Value) {
    if let Some(lines) = item["adjudication"].as_array_mut() {
        lines.push(line);
    }
}

fn adjudication_line(code: &str, value: Value) -> Value {
    let mut line = json!({"category": {"coding": [{"system": PDEX_DISCRIMINATOR, "code": code}]}});
    if let Some(obj) = line.as_object_mut()
        && let Some(v) = value.as_object()
    {
        obj.extend(v.clone());
    }
    line
}

/// The member's prior authorizations, built from the PDex example, as they stand on day 0, and the later
/// version of the one that is decided on day 1.
///
/// | id | day 0 | day 1 |
/// |---|---|---|
/// | `prior-auth-1` | A4 pended (more clinical information) | unchanged |
/// | `prior-auth-2` | A1 approved | unchanged |
/// | `prior-auth-3` | A2 partially approved (6 of 12 visits) | unchanged |
/// | `prior-auth-4` | A3 denied, not medically necessary | unchanged |
/// | `prior-auth-5` | A4 pended | A1 approved, later `meta.lastUpdated` |
fn prior_auths(member_ref: &str) -> Result<(Vec<Value>, Vec<Value>), SimError> {
    let example: Value = serde_json::from_str(PRIOR_AUTH_EXAMPLE)
        .map_err(|e| SimError::Data(format!("PDex prior authorization example: {e}")))?;
    let make = |n: u32, updated: &str, created: &str| {
        let mut pa = example.clone();
        pa["id"] = json!(format!("prior-auth-{n}"));
        pa["meta"]["lastUpdated"] = json!(updated);
        pa["created"] = json!(created);
        pa["patient"]["reference"] = json!(member_ref);
        pa["identifier"][0]["value"] = json!(format!("PA-2026-{n:04}"));
        pa["preAuthRef"] = json!([format!("AUTH-2026-{n:04}")]);
        pa
    };
    let mut out = Vec::new();

    let mut p1 = make(1, "2026-11-20T15:00:00+00:00", "2026-11-18T10:00:00+00:00");
    p1["outcome"] = json!("queued");
    service(
        &mut p1["item"][0],
        "72148",
        "MRI lumbar spine without contrast",
        1,
        1250,
    );
    p1["item"][0]["adjudication"][0]["extension"] = decision(
        "A4",
        "Pended",
        "REV-0001",
        "2026-11-20T15:00:00+00:00",
        &["Additional clinical information requested from the provider"],
    );
    p1["preAuthRefPeriod"] = json!([]);
    out.push(p1);

    let mut p2 = make(2, "2026-10-03T09:30:00+00:00", "2026-09-29T08:00:00+00:00");
    p2["outcome"] = json!("complete");
    service(
        &mut p2["item"][0],
        "29881",
        "Knee arthroscopy with meniscectomy",
        1,
        4200,
    );
    p2["item"][0]["adjudication"][0]["extension"] = decision(
        "A1",
        "Certified in total",
        "REV-0002",
        "2026-10-03T09:30:00+00:00",
        &[],
    );
    push_line(
        &mut p2["item"][0],
        adjudication_line("allowedunits", json!({"value": 1})),
    );
    p2["preAuthRefPeriod"] = json!([{"start": "2026-10-05", "end": "2027-01-05"}]);
    out.push(p2);

    let mut p3 = make(3, "2026-11-12T14:10:00+00:00", "2026-11-09T11:00:00+00:00");
    p3["outcome"] = json!("partial");
    service(
        &mut p3["item"][0],
        "97110",
        "Physical therapy, therapeutic exercise",
        12,
        1800,
    );
    p3["item"][0]["adjudication"][0]["extension"] = decision(
        "A2",
        "Certified - partial",
        "REV-0003",
        "2026-11-12T14:10:00+00:00",
        &["6 of the 12 visits requested are certified; request more after re-evaluation"],
    );
    push_line(
        &mut p3["item"][0],
        adjudication_line("allowedunits", json!({"value": 6})),
    );
    push_line(
        &mut p3["item"][0],
        adjudication_line("consumedunits", json!({"value": 2})),
    );
    p3["preAuthRefPeriod"] = json!([{"start": "2026-11-15", "end": "2027-02-15"}]);
    out.push(p3);

    let mut p4 = make(4, "2026-11-25T16:45:00+00:00", "2026-11-21T09:00:00+00:00");
    p4["outcome"] = json!("complete");
    service(
        &mut p4["item"][0],
        "95810",
        "Sleep study, attended polysomnography",
        1,
        2100,
    );
    p4["item"][0]["adjudication"][0]["extension"] = decision(
        "A3",
        "Not certified",
        "REV-0004",
        "2026-11-25T16:45:00+00:00",
        &["Not medically necessary: a home sleep test is required first"],
    );
    push_line(
        &mut p4["item"][0],
        adjudication_line(
            "denialreason",
            json!({"reason": {"coding": [{"system": "https://x12.org/codes/claim-adjustment-reason-codes", "code": "50"}], "text": "Not deemed a medical necessity by the payer"}}),
        ),
    );
    p4["preAuthRefPeriod"] = json!([]);
    out.push(p4);

    let mut p5 = make(5, "2026-11-28T12:00:00+00:00", "2026-11-27T10:00:00+00:00");
    p5["outcome"] = json!("queued");
    service(
        &mut p5["item"][0],
        "70553",
        "MRI brain with and without contrast",
        1,
        1900,
    );
    p5["item"][0]["adjudication"][0]["extension"] =
        decision("A4", "Pended", "REV-0005", "2026-11-28T12:00:00+00:00", &[]);
    p5["preAuthRefPeriod"] = json!([]);
    let mut p5_later = p5.clone();
    out.push(p5);
    p5_later["meta"]["lastUpdated"] = json!("2026-12-01T08:15:00+00:00");
    p5_later["outcome"] = json!("complete");
    p5_later["item"][0]["adjudication"][0]["extension"] = decision(
        "A1",
        "Certified in total",
        "REV-0005",
        "2026-12-01T08:15:00+00:00",
        &[],
    );
    p5_later["preAuthRefPeriod"] = json!([{"start": "2026-12-02", "end": "2027-03-02"}]);
    Ok((out, vec![p5_later]))
}

/// Points every `reference` to an example patient at the member instead.
fn rewrite_references(value: &mut Value, member_ref: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "reference"
                    && let Value::String(s) = v
                    && EXAMPLE_PATIENTS.contains(&s.as_str())
                {
                    *s = member_ref.to_owned();
                    continue;
                }
                rewrite_references(v, member_ref);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rewrite_references(v, member_ref)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clinical_records_are_the_served_types_only_and_point_at_the_member() {
        let served: Vec<String> = ["Patient", "Condition", "Observation"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let data = build("m-42", false)
            .unwrap()
            .with_clinical(&served)
            .unwrap();
        let types: std::collections::BTreeSet<&str> = data
            .clinical
            .iter()
            .filter_map(|r| r["resourceType"].as_str())
            .collect();
        assert_eq!(types, ["Condition", "Observation"].into_iter().collect());
        assert!(
            data.clinical_of("Observation").len() >= 10,
            "labs and vitals"
        );
        let text = serde_json::to_string(&data.clinical).unwrap();
        assert!(
            !text.contains("\"Patient/example\""),
            "every reference rewritten"
        );
        for r in &data.clinical {
            assert_eq!(r["subject"]["reference"], "Patient/m-42", "{}", r["id"]);
        }
        // Referenced examples are readable by id once any clinical type is served.
        assert!(data.find("Medication", "uscore-med2", 0).is_some());
        assert!(data.clinical_of("Medication").len() == 2);
        // A claims-only payer serves none of it.
        let claims_only: Vec<String> = vec!["Patient".into(), "Coverage".into()];
        let none = build("m-42", false)
            .unwrap()
            .with_clinical(&claims_only)
            .unwrap();
        assert!(none.clinical.is_empty() && none.clinical_referenced.is_empty());
        assert!(none.find("Medication", "uscore-med2", 0).is_none());
    }

    #[test]
    fn every_resource_points_at_the_member_and_every_profile_is_served() {
        let data = build("m-42", true).unwrap();
        assert_eq!(data.patient["id"], "m-42");
        assert_eq!(data.eobs.len(), 35, "30 claims and 5 prior authorizations");
        assert_eq!(data.coverages.len(), 4);
        let text = serde_json::to_string(&(&data.coverages, &data.eobs)).unwrap();
        assert!(!text.contains("\"Patient/Patient1\"") && !text.contains("\"Patient/Patient2\""));
        for eob in &data.eobs {
            assert_eq!(eob["patient"]["reference"], "Patient/m-42");
        }
        for c in &data.coverages {
            assert_eq!(c["beneficiary"]["reference"], "Patient/m-42");
        }
        let profiles: Vec<String> = data
            .eobs
            .iter()
            .filter(|e| e["use"] != "preauthorization")
            .map(|e| e["meta"]["profile"][0].as_str().unwrap().to_owned())
            .collect();
        for kind in [
            "Inpatient",
            "Outpatient",
            "Professional",
            "Pharmacy",
            "Oral",
        ] {
            assert!(profiles.iter().any(|p| p.contains(kind)), "{kind}");
        }
        assert!(profiles.iter().any(|p| p.contains("-Basis")));
        let mut ids: Vec<&str> = data
            .eobs
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 35, "EOB ids are unique");
        // Every coverage an EOB names is served.
        for eob in &data.eobs {
            for ins in eob["insurance"].as_array().unwrap() {
                let r = ins["coverage"]["reference"].as_str().unwrap();
                let id = r.trim_start_matches("Coverage/");
                assert!(data.find("Coverage", id, 0).is_some(), "{r}");
            }
        }
    }

    #[test]
    fn prior_authorizations_are_built_for_payers_under_the_rule_and_one_changes_on_day_one() {
        let data = build("m-42", true).unwrap();
        let pas: Vec<&Value> = data
            .eobs
            .iter()
            .filter(|e| e["use"] == "preauthorization")
            .collect();
        let ids: Vec<&str> = pas.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "prior-auth-1",
                "prior-auth-2",
                "prior-auth-3",
                "prior-auth-4",
                "prior-auth-5"
            ]
        );
        for pa in &pas {
            assert_eq!(pa["patient"]["reference"], "Patient/m-42");
        }
        let day0 = data
            .find("ExplanationOfBenefit", "prior-auth-5", 0)
            .unwrap();
        let day1 = data
            .find("ExplanationOfBenefit", "prior-auth-5", 1)
            .unwrap();
        assert_ne!(day0, day1);
        assert!(
            day1["meta"]["lastUpdated"].as_str() > day0["meta"]["lastUpdated"].as_str(),
            "the change moves lastUpdated"
        );
        let changed: Vec<_> = data
            .eobs_on(0)
            .into_iter()
            .zip(data.eobs_on(1))
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            changed,
            ["prior-auth-5"],
            "only the one authorization changes"
        );
        let without = build("m-42", false).unwrap();
        assert_eq!(without.eobs.len(), 30);
        assert!(without.eobs.iter().all(|e| e["use"] != "preauthorization"));
        assert_eq!(without.eobs_on(1), without.eobs);
    }
}
