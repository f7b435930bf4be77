//! Per-payer adapters for patient-access.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
