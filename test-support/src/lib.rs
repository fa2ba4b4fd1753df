//! What warden's tests share: an in-memory writer, a layer that records
//! what it was given, error types with chains (and a cyclic one), a scratch
//! directory and a real OpenTelemetry collector on free loopback ports.
//!
//! Not published; every crate of the workspace takes it as a
//! dev-dependency.

mod buffer;
mod capture;
pub mod collector;
mod env;
mod errors;
mod nginx;
pub mod postgres;
mod scratch;

pub use buffer::Buffer;
pub use capture::{Capture, Seen};
pub use collector::Collector;
pub use env::{remove_env, set_env};
pub use errors::{chained, Cyclic};
pub use nginx::{write_certificates, TlsProxy};
pub use postgres::Postgres;
pub use scratch::Scratch;

/// Raw values that must never reach a sink, in the shapes the tests log.
pub const RAW: &[&str] = &[
    "ada@example.com",
    "bob@example.org",
    "4111111111111111",
    "4111 1111 1111 1111",
    "+1 415 555 2671",
    "123-45-6789",
    "10.20.30.40",
    "hunter2",
    "DE89370400440532013000",
];

/// Panics, naming the value, if any of [`RAW`] appears in `text`.
pub fn assert_clean(text: &str) {
    for raw in RAW {
        assert!(!text.contains(raw), "raw value {raw:?} leaked into: {text}");
    }
}

/// The `warden` CLI binary `cargo test --workspace` built, beside the
/// running test binary.
pub fn warden_cli() -> std::path::PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(|d| d.parent())
        .expect("the profile directory");
    profile_dir.join(format!("warden{}", std::env::consts::EXE_SUFFIX))
}
