//! Helpers shared by this crate's tests and examples.

pub mod malicious;
