//! Types that warden layers leave in span extensions for each other.

use crate::FieldValue;

/// The sanitized fields of a span, left in its extensions by the PII layer.
///
/// Layers that print or export span fields (warden's JSON formatter, the
/// audit router) read these instead of the raw values whenever they are
/// present. Fields appear in recording order; a field recorded again with
/// `Span::record` replaces its earlier value.
///
/// ```
/// use warden_core::{FieldValue, SanitizedFields};
///
/// let mut fields = SanitizedFields::new();
/// fields.set("customer", FieldValue::Str("[REDACTED:EMAIL]".into()));
/// assert_eq!(fields.get("customer"), Some(&FieldValue::Str("[REDACTED:EMAIL]".into())));
/// assert_eq!(fields.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SanitizedFields {
    fields: Vec<(&'static str, FieldValue)>,
    changes: u64,
}

impl SanitizedFields {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing an earlier value of the same field.
    pub fn set(&mut self, name: &'static str, value: FieldValue) {
        self.changes += 1;
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// The value of `name`, if the span has recorded it.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every recorded field, in recording order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &FieldValue)> {
        self.fields.iter().map(|(n, v)| (*n, v))
    }

    /// How many values were set so far: a layer that copied the fields
    /// can tell whether they changed since.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The number of recorded fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether no field was recorded.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_records_replace_earlier_ones() {
        let mut fields = SanitizedFields::new();
        fields.set("user", FieldValue::Str("[REDACTED:EMAIL]".into()));
        fields.set("n", FieldValue::U64(1));
        fields.set("n", FieldValue::U64(2));
        assert_eq!(fields.len(), 2);
        assert_eq!(fields.changes(), 3);
        assert_eq!(fields.get("n"), Some(&FieldValue::U64(2)));
        let names: Vec<_> = fields.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["user", "n"]);
    }
}
