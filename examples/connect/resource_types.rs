//! Searching and reading resource types by name, including the many `fhir-c4bb` keeps as raw JSON (US Core
//! clinical types).
//!
//! `FhirClient::search::<T>` and `read::<T>` take the type from `T: FhirResource`, so a type known only at run
//! time (from the payer's CapabilityStatement) needs one small marker type per name. The SDK could offer
//! `search_type(name, params) -> SearchStream<Resource>` instead; until then, this macro writes the markers.

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use patient_access::fhir::Resource;
use patient_access::smart::fhir::{
    FhirClient, FhirResource, SearchItem, SearchParams, SearchStream,
};

/// A search's items, with the matches as plain [`Resource`]s.
pub type Items = BoxStream<'static, patient_access::smart::Result<SearchItem<Resource>>>;

/// Turns a typed search into one of plain resources.
pub fn erase<T: FhirResource>(stream: SearchStream<T>, into: fn(T) -> Resource) -> Items {
    stream
        .try_filter_map(move |item| async move {
            Ok(match item {
                SearchItem::Match(t) => Some(SearchItem::Match(into(t))),
                SearchItem::Included(r) => Some(SearchItem::Included(r)),
                SearchItem::Warning(w) => Some(SearchItem::Warning(w)),
                _ => None,
            })
        })
        .boxed()
}

macro_rules! by_name {
    (patient compartment: $($searched:ident),*; referenced: $($read:ident),* $(,)?) => {
        mod marker {
            use super::*;
            $(by_name!(@marker $searched);)*
            $(by_name!(@marker $read);)*
        }

        /// Types read for the member with `?patient={id}` (their Patient compartment parameter).
        pub const SEARCHED: &[&str] = &[$(stringify!($searched)),*];
        /// Types read one by one where the member's resources reference them.
        pub const REFERENCED: &[&str] = &[$(stringify!($read)),*];

        /// `GET {base}/{name}?{params}`, every page; `None` for a name this example does not know.
        pub fn search(client: &FhirClient, name: &str, params: SearchParams) -> Option<Items> {
            match name {
                $(stringify!($searched) => Some(erase(client.search::<marker::$searched>(params), |m| m.0)),)*
                _ => None,
            }
        }

        /// `GET {base}/{name}/{id}`; `None` for a name this example does not know.
        pub async fn read(client: &FhirClient, name: &str, id: &str) -> Option<patient_access::smart::Result<Resource>> {
            Some(match name {
                $(stringify!($read) => client.read::<marker::$read>(id).await.map(|m| m.0),)*
                _ => return None,
            })
        }
    };
    (@marker $name:ident) => {
        #[derive(Debug)]
        pub struct $name(pub Resource);

        impl FhirResource for $name {
            const RESOURCE_TYPE: &'static str = stringify!($name);

            fn from_resource(resource: Resource) -> Result<Self, Resource> {
                if resource.resource_type() == Self::RESOURCE_TYPE {
                    Ok(Self(resource))
                } else {
                    Err(resource)
                }
            }
        }
    };
}

by_name!(
    patient compartment: AllergyIntolerance, CarePlan, CareTeam, Condition, Device, DiagnosticReport,
        DocumentReference, Encounter, Goal, Immunization, List, MedicationDispense, MedicationRequest,
        MedicationStatement, Observation, Procedure, QuestionnaireResponse, RelatedPerson, ServiceRequest,
        Specimen;
    referenced: Organization, Practitioner, PractitionerRole, Location, Medication,
);

/// True for a `resourceType` that is safe as a file name (`Observation`), false for anything a payer could
/// use to escape the output folder (`../x`).
pub fn is_plain_type_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}
