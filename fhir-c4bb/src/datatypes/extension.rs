//! `Extension`: a URL and one `value[x]` of any FHIR type, or nested extensions.

use crate::datatypes::{
    Address, Annotation, Attachment, CodeableConcept, Coding, ContactPoint, HumanName, Identifier,
    Meta, Money, Period, Quantity, Range, Ratio, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::{DateTime, Decimal, Integer, RawJson};

fhir_choice! {
    /// `Extension.value[x]`: every FHIR R4 type an extension may carry.
    ///
    /// Types this crate models are typed; the rarer complex ones (Timing, Dosage,
    /// SampledData...) are kept as raw JSON under their own variant.
    pub enum ExtensionValue {
        /// `valueBase64Binary`
        Base64Binary(String) = "valueBase64Binary",
        /// `valueBoolean`
        Boolean(bool) = "valueBoolean",
        /// `valueCanonical`
        Canonical(String) = "valueCanonical",
        /// `valueCode`
        Code(String) = "valueCode",
        /// `valueDate`
        Date(DateTime) = "valueDate",
        /// `valueDateTime`
        DateTime(DateTime) = "valueDateTime",
        /// `valueDecimal`
        Decimal(Decimal) = "valueDecimal",
        /// `valueId`
        Id(String) = "valueId",
        /// `valueInstant`
        Instant(DateTime) = "valueInstant",
        /// `valueInteger`
        Integer(Integer) = "valueInteger",
        /// `valueMarkdown`
        Markdown(String) = "valueMarkdown",
        /// `valueOid`
        Oid(String) = "valueOid",
        /// `valuePositiveInt`
        PositiveInt(Integer) = "valuePositiveInt",
        /// `valueString`
        String(String) = "valueString",
        /// `valueTime`
        Time(String) = "valueTime",
        /// `valueUnsignedInt`
        UnsignedInt(Integer) = "valueUnsignedInt",
        /// `valueUri`
        Uri(String) = "valueUri",
        /// `valueUrl`
        Url(String) = "valueUrl",
        /// `valueUuid`
        Uuid(String) = "valueUuid",
        /// `valueAddress`
        Address(Box<Address>) = "valueAddress",
        /// `valueAge`
        Age(Box<Quantity>) = "valueAge",
        /// `valueAnnotation`
        Annotation(Box<Annotation>) = "valueAnnotation",
        /// `valueAttachment`
        Attachment(Box<Attachment>) = "valueAttachment",
        /// `valueCodeableConcept`
        CodeableConcept(Box<CodeableConcept>) = "valueCodeableConcept",
        /// `valueCoding`
        Coding(Box<Coding>) = "valueCoding",
        /// `valueContactPoint`
        ContactPoint(Box<ContactPoint>) = "valueContactPoint",
        /// `valueCount`
        Count(Box<Quantity>) = "valueCount",
        /// `valueDistance`
        Distance(Box<Quantity>) = "valueDistance",
        /// `valueDuration`
        Duration(Box<Quantity>) = "valueDuration",
        /// `valueHumanName`
        HumanName(Box<HumanName>) = "valueHumanName",
        /// `valueIdentifier`
        Identifier(Box<Identifier>) = "valueIdentifier",
        /// `valueMoney`
        Money(Box<Money>) = "valueMoney",
        /// `valuePeriod`
        Period(Box<Period>) = "valuePeriod",
        /// `valueQuantity`
        Quantity(Box<Quantity>) = "valueQuantity",
        /// `valueRange`
        Range(Box<Range>) = "valueRange",
        /// `valueRatio`
        Ratio(Box<Ratio>) = "valueRatio",
        /// `valueReference`
        Reference(Box<Reference>) = "valueReference",
        /// `valueSampledData` (raw JSON)
        SampledData(RawJson) = "valueSampledData",
        /// `valueSignature` (raw JSON)
        Signature(RawJson) = "valueSignature",
        /// `valueTiming` (raw JSON)
        Timing(RawJson) = "valueTiming",
        /// `valueContactDetail` (raw JSON)
        ContactDetail(RawJson) = "valueContactDetail",
        /// `valueContributor` (raw JSON)
        Contributor(RawJson) = "valueContributor",
        /// `valueDataRequirement` (raw JSON)
        DataRequirement(RawJson) = "valueDataRequirement",
        /// `valueExpression` (raw JSON)
        Expression(RawJson) = "valueExpression",
        /// `valueParameterDefinition` (raw JSON)
        ParameterDefinition(RawJson) = "valueParameterDefinition",
        /// `valueRelatedArtifact` (raw JSON)
        RelatedArtifact(RawJson) = "valueRelatedArtifact",
        /// `valueTriggerDefinition` (raw JSON)
        TriggerDefinition(RawJson) = "valueTriggerDefinition",
        /// `valueUsageContext` (raw JSON)
        UsageContext(RawJson) = "valueUsageContext",
        /// `valueDosage` (raw JSON)
        Dosage(RawJson) = "valueDosage",
        /// `valueMeta`
        Meta(Box<Meta>) = "valueMeta",
    }
}

impl ExtensionValue {
    /// The text of a string-like value (string, code, uri, id, markdown...).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s)
            | Self::Code(s)
            | Self::Uri(s)
            | Self::Url(s)
            | Self::Canonical(s)
            | Self::Id(s)
            | Self::Oid(s)
            | Self::Uuid(s)
            | Self::Markdown(s)
            | Self::Base64Binary(s)
            | Self::Time(s) => Some(s),
            Self::Date(d) | Self::DateTime(d) | Self::Instant(d) => Some(d.as_str()),
            _ => None,
        }
    }
}

fhir_struct! {
    /// An extension: a URL naming what it means, and either a value or nested extensions.
    ///
    /// The same URL may appear several times, with different value types; each stays its
    /// own `Extension`, in order.
    ///
    /// ```
    /// use fhir_c4bb::datatypes::{Extension, ExtensionValue};
    /// let e: Extension = fhir_c4bb::from_str(
    ///     r#"{"url":"http://example.org/level","valueDecimal":2.50}"#,
    /// )?;
    /// match &e.value {
    ///     Some(ExtensionValue::Decimal(d)) => assert_eq!(d.to_string(), "2.50"),
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Extension {
        /// Element id.
        pub id: Option<String> = "id",
        /// Nested extensions (complex extensions such as US Core race).
        pub extension: Vec<Extension> = "extension",
        /// What the extension means.
        pub url: Option<String> = "url",
        /// The value, of whichever type the extension defines.
        pub value: Option<ExtensionValue> = "value",
    }
}

impl Extension {
    /// An extension with a URL and a value.
    pub fn new(url: impl Into<String>, value: ExtensionValue) -> Self {
        Extension {
            url: Some(url.into()),
            value: Some(value),
            ..Default::default()
        }
    }

    /// The nested extensions with this URL.
    pub fn nested<'a>(&'a self, url: &'a str) -> impl Iterator<Item = &'a Extension> + 'a {
        self.extension
            .iter()
            .filter(move |e| e.url.as_deref() == Some(url))
    }
}
