//! The keys of a JSON line, configurable.

/// One key, kept already quoted and escaped with its colon (`"ts":`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Key(Box<str>);

impl Key {
    fn new(name: &str) -> Self {
        let mut quoted = String::with_capacity(name.len() + 3);
        crate::write::key(&mut quoted, name);
        Key(quoted.into_boxed_str())
    }

    /// `"name":`, ready to append.
    pub(crate) fn quoted(&self) -> &str {
        &self.0
    }
}

macro_rules! names {
    ($( $(#[$doc:meta])* $field:ident = $default:literal, camel $camel:literal; )*) => {
        /// The keys [`Json`](crate::Json) writes, each configurable.
        ///
        /// The default names are snake case (`timestamp`, `correlation_id`,
        /// `duration_ms`); [`FieldNames::camel_case`] gives `correlationId`,
        /// `durationMs`, … as in services whose log schema is camel case.
        ///
        /// ```
        /// use warden_json::{FieldNames, Json};
        ///
        /// let names = FieldNames::camel_case().timestamp("ts").level("lvl");
        /// let format = Json::default().field_names(names);
        /// # let _ = format;
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct FieldNames {
            $( pub(crate) $field: Key, )*
        }

        impl Default for FieldNames {
            fn default() -> Self {
                FieldNames { $( $field: Key::new($default), )* }
            }
        }

        impl FieldNames {
            /// The camel-case names: `correlationId`, `traceId`, `spanId`,
            /// `durationMs`, `threadName`, `threadId`; the others unchanged.
            pub fn camel_case() -> Self {
                FieldNames { $( $field: Key::new($camel), )* }
            }

            $(
                $(#[$doc])*
                pub fn $field(mut self, name: &str) -> Self {
                    self.$field = Key::new(name);
                    self
                }
            )*
        }
    };
}

names! {
    /// The key of the event's time (default `timestamp`).
    timestamp = "timestamp", camel "timestamp";
    /// The key of the event's level (default `level`).
    level = "level", camel "level";
    /// The key of the event's target (default `target`).
    target = "target", camel "target";
    /// The key of the event's message (default `message`).
    message = "message", camel "message";
    /// The key of the object holding the event's fields when they are not
    /// flattened (default `fields`).
    fields = "fields", camel "fields";
    /// The key of the current span's object (default `span`).
    span = "span", camel "span";
    /// The key of the list of spans from the root (default `spans`).
    spans = "spans", camel "spans";
    /// The key of a span's name inside its object (default `name`).
    span_name = "name", camel "name";
    /// The key of the correlation ID (default `correlation_id`).
    correlation_id = "correlation_id", camel "correlationId";
    /// The key of the OpenTelemetry trace id (default `trace_id`).
    trace_id = "trace_id", camel "traceId";
    /// The key of the OpenTelemetry span id (default `span_id`).
    span_id = "span_id", camel "spanId";
    /// The key of a closed span's duration in milliseconds (default
    /// `duration_ms`).
    duration_ms = "duration_ms", camel "durationMs";
    /// The key of the source file (default `file`).
    file = "file", camel "file";
    /// The key of the source line (default `line`).
    line = "line", camel "line";
    /// The key of the thread's name (default `thread_name`).
    thread_name = "thread_name", camel "threadName";
    /// The key of the thread's id (default `thread_id`).
    thread_id = "thread_id", camel "threadId";
    /// The key of an ERROR event's backtrace (default `backtrace`).
    backtrace = "backtrace", camel "backtrace";
}
