//! The parts of the `warden` command that read untrusted input (a line to
//! redact, an HTTP answer), as a library: for the binary and for the fuzz
//! targets under `fuzz/`. Not a stable API: use the command.

pub mod http;
pub mod redact;
