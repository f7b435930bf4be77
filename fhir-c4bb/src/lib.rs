//! Typed, lossless CARIN Blue Button (C4BB) FHIR R4 models.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
