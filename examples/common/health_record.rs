//! The member's health record in a few lists, for the quickstart and the web app: conditions, medications,
//! allergies, immunizations, and the most recent labs and vital signs with their units. Read with the SDK's
//! by-name searches (`search_type`), typed by `fhir-c4bb`, shown with its helpers (`display_text`,
//! `value_text`, `clinical_status`).

use std::collections::HashMap;

use patient_access::fhir::Resource;
use patient_access::fhir::clinical::{MedicationChoice, Observation};
use patient_access::smart::fhir::{FhirClient, SearchParams};

/// The types read, in the order they are shown.
pub const TYPES: &[&str] = &[
    "Condition",
    "MedicationRequest",
    "AllergyIntolerance",
    "Immunization",
    "Observation",
];

/// One line of a list: what, a detail (status, value with its unit), and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub detail: String,
    pub date: String,
}

/// The member's record, one list per kind; `unavailable` names the types the payer does not serve or refused.
#[derive(Debug, Default)]
pub struct HealthRecord {
    pub conditions: Vec<Line>,
    pub medications: Vec<Line>,
    pub allergies: Vec<Line>,
    pub immunizations: Vec<Line>,
    pub labs: Vec<Line>,
    pub vitals: Vec<Line>,
    pub unavailable: Vec<String>,
}

/// How many labs and vital signs are shown: the most recent ones.
pub const RECENT: usize = 8;

impl HealthRecord {
    /// Reads the record: every type of [`TYPES`] the payer's CapabilityStatement lists as searchable (all of them
    /// when it cannot be read). A type the payer refuses is listed in `unavailable`; losing the authorization is
    /// an error.
    pub async fn read(fhir: &FhirClient) -> patient_access::smart::Result<Self> {
        let searchable: Option<Vec<String>> = fhir
            .capabilities()
            .await
            .ok()
            .map(|c| c.searchable_types().map(str::to_owned).collect());
        let mut record = HealthRecord::default();
        let mut observations = Vec::new();
        let mut medication_names: HashMap<String, Option<String>> = HashMap::new();
        for ty in TYPES {
            if searchable
                .as_ref()
                .is_some_and(|list| !list.iter().any(|t| t == ty))
            {
                record.unavailable.push((*ty).to_owned());
                continue;
            }
            let found = match fhir
                .search_type(ty, SearchParams::new())
                .collect_all()
                .await
            {
                Ok(found) => found,
                Err(e) if e.requires_reauthorization() => return Err(e),
                Err(_) => {
                    record.unavailable.push((*ty).to_owned());
                    continue;
                }
            };
            for resource in found.matches {
                match resource {
                    Resource::Condition(c) => record.conditions.push(Line {
                        text: c
                            .code
                            .as_ref()
                            .and_then(|c| c.display_text())
                            .unwrap_or("(no text)")
                            .to_owned(),
                        detail: c
                            .clinical_status()
                            .map(|s| s.code().to_owned())
                            .unwrap_or_default(),
                        date: c
                            .onset_date()
                            .map(|d| d.as_str().to_owned())
                            .unwrap_or_default(),
                    }),
                    Resource::MedicationRequest(m) => {
                        let mut text = m.medication_text().map(str::to_owned);
                        // A reference to a Medication resource the payer serves apart: read it once for its name.
                        if text.is_none()
                            && let Some(MedicationChoice::Reference(r)) = &m.medication
                            && let Some(("Medication", id)) = r.target()
                        {
                            if !medication_names.contains_key(id) {
                                let name = match fhir.read_type("Medication", id).await {
                                    Ok(Resource::Medication(med)) => med
                                        .code
                                        .as_ref()
                                        .and_then(|c| c.display_text())
                                        .map(str::to_owned),
                                    _ => None,
                                };
                                medication_names.insert(id.to_owned(), name);
                            }
                            text = medication_names.get(id).cloned().flatten();
                        }
                        record.medications.push(Line {
                            text: text.unwrap_or_else(|| "(no text)".to_owned()),
                            detail: m.status.clone().unwrap_or_default(),
                            date: m
                                .authored_on
                                .as_ref()
                                .map(|d| d.as_str().to_owned())
                                .unwrap_or_default(),
                        });
                    }
                    Resource::AllergyIntolerance(a) => record.allergies.push(Line {
                        text: a
                            .code
                            .as_ref()
                            .and_then(|c| c.display_text())
                            .unwrap_or("(no text)")
                            .to_owned(),
                        detail: a
                            .clinical_status()
                            .map(|s| s.code().to_owned())
                            .unwrap_or_default(),
                        date: a
                            .recorded_date
                            .as_ref()
                            .map(|d| d.as_str().to_owned())
                            .unwrap_or_default(),
                    }),
                    Resource::Immunization(i) => record.immunizations.push(Line {
                        text: i
                            .vaccine_code
                            .as_ref()
                            .and_then(|c| c.display_text())
                            .unwrap_or("(no text)")
                            .to_owned(),
                        detail: i.status.clone().unwrap_or_default(),
                        date: i
                            .occurrence_date()
                            .map(|d| d.as_str().to_owned())
                            .unwrap_or_default(),
                    }),
                    Resource::Observation(o) => observations.push(*o),
                    _ => {}
                }
            }
        }
        // Most recent first (ISO dates sort as text).
        observations.sort_by_key(|o| std::cmp::Reverse(date_of(o)));
        for o in &observations {
            let line = observation_line(o);
            if o.is_laboratory() && record.labs.len() < RECENT {
                record.labs.push(line);
            } else if o.is_vital_sign() && record.vitals.len() < RECENT {
                record.vitals.push(line);
            }
        }
        Ok(record)
    }

    /// The lists with their titles, in the order they are shown.
    pub fn sections(&self) -> [(&'static str, &[Line]); 6] {
        [
            ("Conditions", &self.conditions),
            ("Medications", &self.medications),
            ("Allergies", &self.allergies),
            ("Immunizations", &self.immunizations),
            ("Recent labs", &self.labs),
            ("Recent vital signs", &self.vitals),
        ]
    }
}

fn date_of(o: &Observation) -> String {
    o.effective_date()
        .map(|d| d.as_str().to_owned())
        .unwrap_or_default()
}

/// An observation's name and its value with the unit; a blood pressure's parts joined (`120 mm[Hg] / 80 mm[Hg]`).
fn observation_line(o: &Observation) -> Line {
    let detail = o.value_text().unwrap_or_else(|| {
        o.component
            .iter()
            .filter_map(|c| c.value_text())
            .collect::<Vec<_>>()
            .join(" / ")
    });
    Line {
        text: o
            .code
            .as_ref()
            .and_then(|c| c.display_text())
            .unwrap_or("(no text)")
            .to_owned(),
        detail,
        date: date_of(o),
    }
}
