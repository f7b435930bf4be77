//! The FHIR R4 general-purpose datatypes that C4BB resources are made of.
//!
//! Every type keeps the members it does not model in its `extra` field, so nothing a
//! payer sends is lost; fields are public, and `Default` plus field assignment builds one.

mod address;
mod annotation;
mod attachment;
mod coding;
mod contact_point;
mod extension;
mod human_name;
mod identifier;
mod meta;
mod period;
mod quantity;
mod reference;
mod timing;

pub use address::Address;
pub use annotation::{Annotation, AnnotationAuthor};
pub use attachment::Attachment;
pub use coding::{CodeableConcept, Coding};
pub use contact_point::ContactPoint;
pub use extension::{Extension, ExtensionValue};
pub use human_name::HumanName;
pub use identifier::Identifier;
pub use meta::{Meta, Narrative, Xhtml};
pub use period::Period;
pub use quantity::{Money, Quantity, Range, Ratio};
pub use reference::Reference;
pub use timing::{
    Dosage, DosageAsNeeded, DosageDose, DosageDoseAndRate, DosageRate, SampledData, Signature,
    Timing, TimingBounds, TimingRepeat,
};
