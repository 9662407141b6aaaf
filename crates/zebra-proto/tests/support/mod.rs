//! Shared helpers for the integration tests.
pub mod fixture;
pub mod gen;
pub mod responder;
