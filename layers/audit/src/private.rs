//! What `#[audited]` expands to calls; not a public API.

use std::fmt::{Debug, Display};
use std::future::Future;

/// The parameters of a call as a JSON object of their `Debug` text.
pub fn parameters(params: &[(&str, &dyn Debug)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(name, value)| {
            (
                (*name).to_owned(),
                serde_json::Value::from(format!("{value:?}")),
            )
        })
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// Gives an `async` block the output type of the function it wraps, so
/// that `?` inside it infers.
pub fn typed_future<T, F: Future<Output = T>>(future: F) -> F {
    future
}

/// A returned value, probed for being a `Result`.
pub struct Probe<'a, T>(pub &'a T);

impl<T> std::fmt::Debug for Probe<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

/// The outcome of a function that returns a `Result`.
pub trait ResultOutcome {
    /// `SUCCESS`, or `FAILURE` with the error's message.
    fn outcome(&self) -> (&'static str, Option<String>);
}

impl<T, E: Display> ResultOutcome for Probe<'_, Result<T, E>> {
    fn outcome(&self) -> (&'static str, Option<String>) {
        match self.0 {
            Ok(_) => ("SUCCESS", None),
            Err(e) => ("FAILURE", Some(e.to_string())),
        }
    }
}

/// The outcome of any other function: it returned, so `SUCCESS`.
pub trait PlainOutcome {
    /// `SUCCESS`.
    fn outcome(&self) -> (&'static str, Option<String>);
}

impl<T> PlainOutcome for &Probe<'_, T> {
    fn outcome(&self) -> (&'static str, Option<String>) {
        ("SUCCESS", None)
    }
}
