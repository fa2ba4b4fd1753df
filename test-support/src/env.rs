//! Changing the process environment from a test.
//!
//! Since Rust 2024, `std::env::set_var` and `remove_var` are `unsafe`:
//! another thread reading the environment at the same moment is undefined
//! behaviour on some platforms. This crate stays on edition 2021, where they
//! are not, so that the workspace can forbid `unsafe` code everywhere but
//! the PII crate. The rule they carry remains the callers': a test that
//! changes the environment runs alone in its binary (one `#[test]`, or
//! binaries such as `init_env` and `env` that hold only such tests), before
//! it starts any thread that reads the environment.

/// Sets `name` to `value` in this process's environment.
pub fn set_env(name: impl AsRef<std::ffi::OsStr>, value: impl AsRef<std::ffi::OsStr>) {
    std::env::set_var(name, value);
}

/// Removes `name` from this process's environment.
pub fn remove_env(name: impl AsRef<std::ffi::OsStr>) {
    std::env::remove_var(name);
}
