//! `JsonFields`: span fields serialized once, when the span is created or
//! records a value, as the members of a JSON object.

use std::fmt;

use tracing_core::span::Record;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, FormattedFields};
use warden_core::SanitizedFields;
use warden_core::internal::visit_fields_with_text;

use crate::write;

/// The field formatter that goes with [`Json`](crate::Json).
///
/// `fmt`'s layer calls it once when a span is created and once per
/// `Span::record`, and keeps the result in the span's extensions; `Json`
/// copies that text into each event line instead of re-parsing it. The text
/// is the members of a JSON object without braces (`"user":"ada","n":3`).
/// A field recorded again replaces its earlier value.
///
/// ```
/// use tracing_subscriber::{fmt, prelude::*};
/// use warden_json::{Json, JsonFields};
///
/// let subscriber = tracing_subscriber::registry().with(
///     fmt::layer()
///         .fmt_fields(JsonFields::default())
///         .event_format(Json::default())
///         .with_writer(std::io::sink),
/// );
/// # let _ = subscriber;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonFields {
    _private: (),
}

impl JsonFields {
    /// The field formatter.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Appends the members for `fields` to `out`, each preceded by a comma if
/// `out` is not empty.
fn members<R: RecordFields + ?Sized>(out: &mut String, fields: &R) {
    visit_fields_with_text(fields, |field, value, text| {
        if !out.is_empty() {
            out.push(',');
        }
        write::key(out, field.name());
        write::value_or_text(out, value, text);
    });
}

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        warden_core::internal::with_scratch(|out| {
            members(out, &fields);
            writer.write_str(out)
        })
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let mut names = Vec::new();
        fields.record(&mut NameCollector(&mut names));
        for name in names {
            remove_member(&mut current.fields, name);
        }
        members(&mut current.fields, fields);
        Ok(())
    }
}

/// Collects the names of the fields a record holds.
pub(crate) struct NameCollector<'a>(pub(crate) &'a mut Vec<&'static str>);

impl tracing_core::field::Visit for NameCollector<'_> {
    fn record_debug(&mut self, field: &tracing_core::Field, _: &dyn fmt::Debug) {
        self.0.push(field.name());
    }
}

/// Replaces in `members` each field `sanitized` holds with its sanitized
/// value (appended after the others).
pub(crate) fn merge_sanitized(members: &mut String, sanitized: &SanitizedFields) {
    for (name, _) in sanitized.iter() {
        remove_member(members, name);
    }
    for (name, value) in sanitized.iter() {
        if !members.is_empty() {
            members.push(',');
        }
        write::key(members, name);
        write::owned_value(members, value);
    }
}

/// Removes the member named `name` from object members written by
/// [`members`], if it is there.
///
/// A key can only start at the beginning or after a comma that follows a
/// complete value; values are scalars or strings, so the scan only has to
/// skip strings (with their escapes) to find member boundaries.
pub(crate) fn remove_member(members: &mut String, name: &str) {
    let bytes = members.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let key_end = skip_string(bytes, i);
        let is_match = bytes
            .get(i + 1..key_end.saturating_sub(1))
            .is_some_and(|k| {
                let mut unescaped = String::new();
                write::escape_into(&mut unescaped, name);
                k == unescaped.as_bytes()
            });
        // Skip the ':' and the value.
        i = key_end + 1;
        i = if bytes.get(i) == Some(&b'"') {
            skip_string(bytes, i)
        } else {
            bytes[i.min(bytes.len())..]
                .iter()
                .position(|&b| b == b',')
                .map_or(bytes.len(), |p| i + p)
        };
        let end = i;
        if is_match {
            let (from, to) = if end < bytes.len() {
                (start, end + 1)
            } else if start > 0 {
                (start - 1, end)
            } else {
                (start, end)
            };
            members.replace_range(from..to, "");
            return;
        }
        // Past the comma.
        i += 1;
    }
}

/// The index just past the JSON string starting at `at` (a `"`).
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(members: &str) -> serde_json::Value {
        serde_json::from_str(&format!("{{{members}}}")).unwrap()
    }

    #[test]
    fn members_are_removed_wherever_they_are() {
        let text = r#""a":1,"b":"x,\"c\":2","c":true,"d":-1.5"#;
        for (name, expected) in [
            ("a", r#""b":"x,\"c\":2","c":true,"d":-1.5"#),
            ("b", r#""a":1,"c":true,"d":-1.5"#),
            ("c", r#""a":1,"b":"x,\"c\":2","d":-1.5"#),
            ("d", r#""a":1,"b":"x,\"c\":2","c":true"#),
            ("e", text),
        ] {
            let mut s = text.to_owned();
            remove_member(&mut s, name);
            assert_eq!(s, expected, "removing {name}");
            parse(&s);
        }
        let mut only = r#""a":"\\""#.to_owned();
        remove_member(&mut only, "a");
        assert_eq!(only, "");
    }
}
