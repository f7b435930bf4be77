//! `Device` (US Core Implantable Device).

use crate::clinical::prelude::*;

fhir_struct! {
    /// `Device.udiCarrier`: the Unique Device Identifier.
    pub struct DeviceUdiCarrier: backbone {
        pub device_identifier: Option<String> = "deviceIdentifier",
        pub issuer: Option<String> = "issuer",
        pub jurisdiction: Option<String> = "jurisdiction",
        pub carrier_aidc: Option<String> = "carrierAIDC",
        pub carrier_hrf: Option<String> = "carrierHRF",
        pub entry_type: Option<String> = "entryType",
    }
}

fhir_struct! {
    /// `Device.deviceName`.
    pub struct DeviceName: backbone {
        pub name: Option<String> = "name",
        pub type_: Option<String> = "type",
    }
}

fhir_struct! {
    /// `Device.specialization`.
    pub struct DeviceSpecialization: backbone {
        pub system_type: Option<CodeableConcept> = "systemType",
        pub version: Option<String> = "version",
    }
}

fhir_struct! {
    /// `Device.version`.
    pub struct DeviceVersion: backbone {
        pub type_: Option<CodeableConcept> = "type",
        pub component: Option<Identifier> = "component",
        pub value: Option<String> = "value",
    }
}

fhir_struct! {
    /// `Device.property`.
    pub struct DeviceProperty: backbone {
        pub type_: Option<CodeableConcept> = "type",
        pub value_quantity: Vec<Quantity> = "valueQuantity",
        pub value_code: Vec<CodeableConcept> = "valueCode",
    }
}

fhir_struct! {
    /// A device: an implant, a pacemaker, a knee prosthesis (with its UDI).
    pub struct Device: domain_resource "Device" {
        pub identifier: Vec<Identifier> = "identifier",
        pub definition: Option<Reference> = "definition",
        pub udi_carrier: Vec<DeviceUdiCarrier> = "udiCarrier",
        pub status: Option<String> = "status",
        pub status_reason: Vec<CodeableConcept> = "statusReason",
        pub distinct_identifier: Option<String> = "distinctIdentifier",
        pub manufacturer: Option<String> = "manufacturer",
        pub manufacture_date: Option<DateTime> = "manufactureDate",
        pub expiration_date: Option<DateTime> = "expirationDate",
        pub lot_number: Option<String> = "lotNumber",
        pub serial_number: Option<String> = "serialNumber",
        pub device_name: Vec<DeviceName> = "deviceName",
        pub model_number: Option<String> = "modelNumber",
        pub part_number: Option<String> = "partNumber",
        pub type_: Option<CodeableConcept> = "type",
        pub specialization: Vec<DeviceSpecialization> = "specialization",
        pub version: Vec<DeviceVersion> = "version",
        pub property: Vec<DeviceProperty> = "property",
        pub patient: Option<Reference> = "patient",
        pub owner: Option<Reference> = "owner",
        pub contact: Vec<ContactPoint> = "contact",
        pub location: Option<Reference> = "location",
        pub url: Option<String> = "url",
        pub note: Vec<Annotation> = "note",
        pub safety: Vec<CodeableConcept> = "safety",
        pub parent: Option<Reference> = "parent",
    }
}

impl Device {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.type_.is_some(), "type");
        c.required(self.patient.is_some(), "patient");
        c.code(
            self.status.as_deref(),
            &["active", "inactive", "entered-in-error", "unknown"],
            "status",
        );
        c.date(self.manufacture_date.as_ref(), "manufactureDate");
        c.date(self.expiration_date.as_ref(), "expirationDate");
    }
}

resource_validate!(
    Device,
    "US Core Implantable Device checks: type, patient; status in its value set; dates."
);
