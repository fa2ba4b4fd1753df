//! metrics: the integration tests of this crate that share a process
//! (tests that install a global subscriber or change the environment keep
//! binaries of their own).

mod accuracy;
mod alerts;
mod exposition;
mod layer;
