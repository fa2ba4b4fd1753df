//! otlp: the integration tests of this crate that share a process
//! (tests that install a global subscriber or change the environment keep
//! binaries of their own).

mod paths;

mod collector;
mod resilience;
mod tls;
