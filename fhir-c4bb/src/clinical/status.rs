//! Clinical status codes as enums.

use std::fmt;

use crate::datatypes::CodeableConcept;

/// The clinical status of a Condition or AllergyIntolerance (HL7 code systems
/// `condition-clinical` and `allergyintolerance-clinical`).
///
/// ```
/// use fhir_c4bb::clinical::ClinicalStatus;
/// assert_eq!(ClinicalStatus::from_code("resolved"), ClinicalStatus::Resolved);
/// assert!(ClinicalStatus::from_code("relapse").is_active());
/// assert_eq!(ClinicalStatus::from_code("later"), ClinicalStatus::Other("later".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClinicalStatus {
    /// `active`
    Active,
    /// `recurrence` (Condition)
    Recurrence,
    /// `relapse` (Condition)
    Relapse,
    /// `inactive`
    Inactive,
    /// `remission` (Condition)
    Remission,
    /// `resolved`
    Resolved,
    /// `unknown` (Condition, added after R4)
    Unknown,
    /// Any other code, as sent.
    Other(String),
}

impl ClinicalStatus {
    /// The status for a code.
    pub fn from_code(code: &str) -> Self {
        match code {
            "active" => Self::Active,
            "recurrence" => Self::Recurrence,
            "relapse" => Self::Relapse,
            "inactive" => Self::Inactive,
            "remission" => Self::Remission,
            "resolved" => Self::Resolved,
            "unknown" => Self::Unknown,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code.
    pub fn code(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Recurrence => "recurrence",
            Self::Relapse => "relapse",
            Self::Inactive => "inactive",
            Self::Remission => "remission",
            Self::Resolved => "resolved",
            Self::Unknown => "unknown",
            Self::Other(c) => c,
        }
    }

    /// Whether the problem or allergy is current (`active`, `recurrence`, `relapse`).
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Active | Self::Recurrence | Self::Relapse)
    }

    /// The status in a `clinicalStatus` concept: the coding in `system`, else the first
    /// coding with a code.
    pub(crate) fn from_concept(cc: &CodeableConcept, system: &str) -> Option<Self> {
        cc.code_in(system)
            .or_else(|| cc.coding.iter().find_map(|c| c.code.as_deref()))
            .map(Self::from_code)
    }
}

impl fmt::Display for ClinicalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
