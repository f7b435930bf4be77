//! SMART App Launch for payer Patient Access APIs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
