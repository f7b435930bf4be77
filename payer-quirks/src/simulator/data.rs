//! The simulated member: C4BB example resources rewritten so that every one of them belongs to one Patient.

use serde_json::Value;

use super::SimError;
use super::fixtures::FILES;

/// What the simulator serves for its member.
#[derive(Debug, Clone)]
pub(crate) struct MemberData {
    pub patient: Value,
    pub coverages: Vec<Value>,
    /// Sorted by id, so paging is stable.
    pub eobs: Vec<Value>,
    /// Organizations and Practitioners the claims reference.
    pub others: Vec<Value>,
}

impl MemberData {
    /// Every resource with this type and id.
    pub(crate) fn find(&self, resource_type: &str, id: &str) -> Option<&Value> {
        std::iter::once(&self.patient)
            .chain(&self.coverages)
            .chain(&self.eobs)
            .chain(&self.others)
            .find(|r| r["resourceType"] == resource_type && r["id"] == id)
    }
}

/// The example patients whose references are rewritten to the member.
const EXAMPLE_PATIENTS: &[&str] = &["Patient/Patient1", "Patient/Patient2"];

/// Builds the member with Patient id `patient_id` from the embedded examples.
pub(crate) fn build(patient_id: &str) -> Result<MemberData, SimError> {
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
    let by_id = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();
    eobs.sort_by_key(by_id);
    coverages.sort_by_key(by_id);
    Ok(MemberData {
        patient,
        coverages,
        eobs,
        others,
    })
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
    fn every_resource_points_at_the_member_and_every_profile_is_served() {
        let data = build("m-42").unwrap();
        assert_eq!(data.patient["id"], "m-42");
        assert_eq!(data.eobs.len(), 30);
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
        assert_eq!(ids.len(), 30, "EOB ids are unique");
        // Every coverage an EOB names is served.
        for eob in &data.eobs {
            for ins in eob["insurance"].as_array().unwrap() {
                let r = ins["coverage"]["reference"].as_str().unwrap();
                let id = r.trim_start_matches("Coverage/");
                assert!(data.find("Coverage", id).is_some(), "{r}");
            }
        }
    }
}
