//! What `#[audited]` expands to calls; not a public API.

use std::fmt::{Debug, Display};
use std::future::Future;

/// The parameters of a call as a JSON object: numbers and booleans keep
/// their type, anything else is its `Debug` text.
pub fn parameters(params: &[(&str, &dyn Debug)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), typed(format!("{value:?}"))))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// A `Debug` text as JSON: an integer, a finite float or a boolean as
/// itself (`4250`, `12.5`, `true`), the rest as a string.
fn typed(text: String) -> serde_json::Value {
    use serde_json::Value;
    match text.as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(n) = text.parse::<u64>() {
        return Value::from(n);
    }
    let numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'e' | b'E' | b'+'));
    match text.parse::<f64>() {
        Ok(f) if numeric => {
            serde_json::Number::from_f64(f).map_or(Value::from(text), Value::Number)
        }
        _ => Value::from(text),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_booleans_keep_their_type() {
        let cents = 4250u64;
        let rate = 0.5f64;
        let ok = true;
        let name = "ada";
        let point = (1, 2);
        let json = parameters(&[
            ("cents", &cents),
            ("rate", &rate),
            ("ok", &ok),
            ("name", &name),
            ("point", &point),
        ]);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"cents": 4250, "name": "\"ada\"", "ok": true, "point": "(1, 2)", "rate": 0.5})
        );
        assert_eq!(typed("inf".into()), serde_json::Value::from("inf"));
        assert_eq!(typed("-3".into()), serde_json::Value::from(-3));
    }
}
