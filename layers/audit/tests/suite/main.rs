//! suite: this crate's integration tests, in one binary. It is not named
//! `audit`: its module paths, the targets of the events its tests log,
//! would then start with `audit::`, which is an audit target.

mod audited;
mod common;
mod crash;
mod jsonl;
mod layer;
mod multiprocess;
#[cfg(feature = "postgres")]
mod postgres;
mod signing;
mod sinks;
mod verify;
