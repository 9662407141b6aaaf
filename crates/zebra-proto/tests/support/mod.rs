//! Shared helpers for the integration tests.
pub mod fixture;
pub mod responder;
