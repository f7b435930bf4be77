//! Where every payer fact in this crate comes from: endpoints, quirks and how to get credentials, each with its
//! sources and a confidence mark (`PAYERS.md` in this crate, rendered here).
//!
#![doc = include_str!("../PAYERS.md")]
