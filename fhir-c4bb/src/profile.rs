//! Which C4BB ExplanationOfBenefit profile a claim follows: read from `meta.profile` (any
//! IG version, any `|version` suffix, financial or non-financial), else inferred from the
//! claim `type`/`subType` codings.

use crate::ExplanationOfBenefit;

/// The NPI identifier system.
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";

/// The HL7 claim type code system (`institutional`, `oral`, `pharmacy`, `professional`...).
pub const CLAIM_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/claim-type";

/// The canonical base of the C4BB StructureDefinitions.
pub const C4BB_PROFILE_BASE: &str = "http://hl7.org/fhir/us/carin-bb/StructureDefinition/";

/// The five kinds of claim C4BB profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EobKind {
    /// Inpatient institutional (hospital stays; UB-04, DRG).
    InpatientInstitutional,
    /// Outpatient institutional (facility charges, same-day).
    OutpatientInstitutional,
    /// Professional and non-clinician (physician office, CMS-1500).
    ProfessionalNonClinician,
    /// Pharmacy (NCPDP).
    Pharmacy,
    /// Oral (dental).
    Oral,
    /// Neither the profile nor the claim type says.
    Unknown,
}

impl EobKind {
    /// The profile id (`C4BB-ExplanationOfBenefit-Pharmacy`...), `None` for `Unknown`.
    pub fn profile_id(self) -> Option<&'static str> {
        Some(match self {
            EobKind::InpatientInstitutional => "C4BB-ExplanationOfBenefit-Inpatient-Institutional",
            EobKind::OutpatientInstitutional => {
                "C4BB-ExplanationOfBenefit-Outpatient-Institutional"
            }
            EobKind::ProfessionalNonClinician => {
                "C4BB-ExplanationOfBenefit-Professional-NonClinician"
            }
            EobKind::Pharmacy => "C4BB-ExplanationOfBenefit-Pharmacy",
            EobKind::Oral => "C4BB-ExplanationOfBenefit-Oral",
            EobKind::Unknown => return None,
        })
    }

    /// A label for people (`"Pharmacy"`, `"Inpatient"`...).
    pub fn label(self) -> &'static str {
        match self {
            EobKind::InpatientInstitutional => "Inpatient",
            EobKind::OutpatientInstitutional => "Outpatient",
            EobKind::ProfessionalNonClinician => "Professional",
            EobKind::Pharmacy => "Pharmacy",
            EobKind::Oral => "Dental",
            EobKind::Unknown => "Other",
        }
    }
}

/// Where [`EobProfile`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProfileSource {
    /// A C4BB profile URL in `meta.profile`.
    MetaProfile,
    /// No usable profile: inferred from the `type`/`subType` codings and the amounts.
    ClaimType,
    /// Nothing to go on.
    None,
}

/// The C4BB profile of an ExplanationOfBenefit.
///
/// ```
/// use fhir_c4bb::profile::{EobKind, ProfileSource};
/// let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(r#"{"resourceType":"ExplanationOfBenefit",
///   "meta":{"profile":["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Oral-Basis|2.1.0"]}}"#)?;
/// let p = eob.profile();
/// assert_eq!((p.kind, p.financial, p.source), (EobKind::Oral, false, ProfileSource::MetaProfile));
///
/// let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(r#"{"resourceType":"ExplanationOfBenefit",
///   "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}]},
///   "total":[{"amount":{"value":10.00,"currency":"USD"}}]}"#)?;
/// let p = eob.profile();
/// assert_eq!((p.kind, p.financial, p.source), (EobKind::Pharmacy, true, ProfileSource::ClaimType));
/// # Ok::<(), fhir_c4bb::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EobProfile {
    /// The kind of claim.
    pub kind: EobKind,
    /// Financial (amounts present: the default profiles) or non-financial (`-Basis` in
    /// 2.1, `-NonFinancial` in the 2023 dev build: no amounts may be sent).
    pub financial: bool,
    /// Where this was read from.
    pub source: ProfileSource,
}

impl EobProfile {
    /// The canonical URL of the profile (no version), `None` for an unknown kind.
    ///
    /// Non-financial profiles use the published 2.1 `-Basis` name.
    pub fn canonical_url(&self) -> Option<String> {
        let id = self.kind.profile_id()?;
        let suffix = if self.financial { "" } else { "-Basis" };
        Some(format!("{C4BB_PROFILE_BASE}{id}{suffix}"))
    }
}

/// Reads one `meta.profile` canonical: `(kind, financial)` when it names a C4BB EOB profile
/// (`Unknown` kind for the base EOB profile).
pub fn parse_eob_profile_url(url: &str) -> Option<(EobKind, bool)> {
    let url = url.split('|').next().unwrap_or(url);
    let id = url.rsplit('/').next().unwrap_or(url);
    let rest = id.strip_prefix("C4BB-ExplanationOfBenefit")?;
    let (rest, financial) = match rest
        .strip_suffix("-Basis")
        .or_else(|| rest.strip_suffix("-NonFinancial"))
    {
        Some(r) => (r, false),
        None => (rest, true),
    };
    let kind = match rest {
        "-Inpatient-Institutional" => EobKind::InpatientInstitutional,
        "-Outpatient-Institutional" => EobKind::OutpatientInstitutional,
        "-Professional-NonClinician" => EobKind::ProfessionalNonClinician,
        "-Pharmacy" => EobKind::Pharmacy,
        "-Oral" => EobKind::Oral,
        "" => EobKind::Unknown,
        _ => return None,
    };
    Some((kind, financial))
}

impl ExplanationOfBenefit {
    /// The C4BB profile this EOB follows (see [`EobProfile`]).
    ///
    /// A specific C4BB profile in `meta.profile` wins; the base C4BB EOB profile, a
    /// foreign profile or none at all fall back to the claim `type` (and `subType`
    /// for institutional claims), with `financial` meaning "carries amounts".
    pub fn profile(&self) -> EobProfile {
        let profiles = self
            .meta
            .as_ref()
            .map(|m| m.profile.as_slice())
            .unwrap_or(&[]);
        let parsed: Vec<(EobKind, bool)> = profiles
            .iter()
            .filter_map(|p| parse_eob_profile_url(p))
            .collect();
        if let Some(&(kind, financial)) = parsed.iter().find(|(k, _)| *k != EobKind::Unknown) {
            return EobProfile {
                kind,
                financial,
                source: ProfileSource::MetaProfile,
            };
        }
        let kind = self.kind_from_type();
        let financial = match parsed.first() {
            Some(&(_, f)) => f,
            None => self.has_amounts(),
        };
        let source = if kind == EobKind::Unknown {
            ProfileSource::None
        } else {
            ProfileSource::ClaimType
        };
        EobProfile {
            kind,
            financial,
            source,
        }
    }

    fn kind_from_type(&self) -> EobKind {
        let Some(ty) = &self.type_ else {
            return EobKind::Unknown;
        };
        let code = ty
            .code_in(CLAIM_TYPE_SYSTEM)
            .or_else(|| ty.coding.iter().find_map(|c| c.code.as_deref()));
        match code {
            Some("pharmacy") => EobKind::Pharmacy,
            Some("oral") => EobKind::Oral,
            Some("professional") => EobKind::ProfessionalNonClinician,
            Some("institutional") => {
                let sub = self.sub_type.as_ref();
                if sub.is_some_and(|s| s.has_code("inpatient")) {
                    EobKind::InpatientInstitutional
                } else if sub.is_some_and(|s| s.has_code("outpatient")) {
                    EobKind::OutpatientInstitutional
                } else {
                    EobKind::Unknown
                }
            }
            _ => EobKind::Unknown,
        }
    }

    /// Whether any money amount is present (totals, adjudication, payment, item prices).
    pub fn has_amounts(&self) -> bool {
        let adj_has = |a: &[crate::Adjudication]| a.iter().any(|a| a.amount.is_some());
        !self.total.is_empty()
            || adj_has(&self.adjudication)
            || self.payment.as_ref().is_some_and(|p| p.amount.is_some())
            || self
                .item
                .iter()
                .any(|i| adj_has(&i.adjudication) || i.net.is_some() || i.unit_price.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_urls_of_every_version_and_suffix() {
        let base = C4BB_PROFILE_BASE;
        let cases = [
            (
                format!("{base}C4BB-ExplanationOfBenefit-Pharmacy"),
                Some((EobKind::Pharmacy, true)),
            ),
            (
                format!("{base}C4BB-ExplanationOfBenefit-Inpatient-Institutional|2.1.0"),
                Some((EobKind::InpatientInstitutional, true)),
            ),
            (
                format!("{base}C4BB-ExplanationOfBenefit-Oral-Basis|2.1.0"),
                Some((EobKind::Oral, false)),
            ),
            (
                format!("{base}C4BB-ExplanationOfBenefit-Professional-NonClinician-NonFinancial"),
                Some((EobKind::ProfessionalNonClinician, false)),
            ),
            (
                format!("{base}C4BB-ExplanationOfBenefit|1.0.0"),
                Some((EobKind::Unknown, true)),
            ),
            (
                "http://payer.example/StructureDefinition/MyEOB".to_owned(),
                None,
            ),
            (format!("{base}C4BB-ExplanationOfBenefit-Vision"), None),
        ];
        for (url, want) in cases {
            assert_eq!(parse_eob_profile_url(&url), want, "{url}");
        }
    }

    #[test]
    fn canonical_url_uses_basis_for_non_financial() {
        let p = EobProfile {
            kind: EobKind::Oral,
            financial: false,
            source: ProfileSource::MetaProfile,
        };
        assert_eq!(
            p.canonical_url().as_deref(),
            Some(
                "http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Oral-Basis"
            )
        );
    }
}
