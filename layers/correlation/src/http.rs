//! Correlation IDs in HTTP headers: read from an incoming request, written
//! to outgoing requests and responses.

use http::header::{HeaderMap, HeaderName, HeaderValue};

use warden_core::CorrelationId;

/// `x-correlation-id`.
pub const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
/// `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// W3C Trace Context's `traceparent`.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Where [`HeaderPropagation::extract`] looks for an ID.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdSource {
    /// A header holding the ID itself (`x-correlation-id`, `x-request-id`,
    /// or any other name).
    Header(HeaderName),
    /// The trace-id of a W3C `traceparent` header
    /// (`00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`).
    TraceParent,
}

/// How correlation IDs travel in HTTP headers: which headers are read, in
/// which order, and which are written.
///
/// The default reads `x-correlation-id`, then `x-request-id`, then the
/// trace-id of `traceparent`, and writes `x-correlation-id`. A header that
/// holds an invalid ID (empty, over 128 bytes, not printable ASCII, a
/// malformed `traceparent`) is skipped, and the next source is tried.
///
/// `traceparent` is only read: writing one needs a span id, which is the
/// OpenTelemetry propagator's job.
///
/// ```
/// use http::HeaderMap;
/// use warden_correlation::http::HeaderPropagation;
///
/// let propagation = HeaderPropagation::default();
/// let mut incoming = HeaderMap::new();
/// incoming.insert("x-request-id", "req-7f3a".parse().unwrap());
/// let id = propagation.extract(&incoming).unwrap();
///
/// let mut outgoing = HeaderMap::new();
/// propagation.inject(&id, &mut outgoing);
/// assert_eq!(outgoing["x-correlation-id"], "req-7f3a");
/// ```
#[derive(Clone, Debug)]
pub struct HeaderPropagation {
    sources: Vec<IdSource>,
    inject: Vec<HeaderName>,
}

impl Default for HeaderPropagation {
    fn default() -> Self {
        HeaderPropagation {
            sources: vec![
                IdSource::Header(X_CORRELATION_ID),
                IdSource::Header(X_REQUEST_ID),
                IdSource::TraceParent,
            ],
            inject: vec![X_CORRELATION_ID],
        }
    }
}

impl HeaderPropagation {
    /// The default: read `x-correlation-id`, `x-request-id`, `traceparent`;
    /// write `x-correlation-id`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads from `sources`, in this order, instead of the default ones.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderName};
    /// use warden_correlation::http::{HeaderPropagation, IdSource};
    ///
    /// let propagation = HeaderPropagation::new()
    ///     .extract_from([IdSource::Header(HeaderName::from_static("x-amzn-trace-id")), IdSource::TraceParent])
    ///     .inject_into([HeaderName::from_static("x-request-id")]);
    /// let mut headers = HeaderMap::new();
    /// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
    /// let id = propagation.extract(&headers).unwrap();
    /// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// ```
    pub fn extract_from(mut self, sources: impl IntoIterator<Item = IdSource>) -> Self {
        self.sources = sources.into_iter().collect();
        self
    }

    /// Writes the ID into each of `headers` instead of `x-correlation-id`.
    pub fn inject_into(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.inject = headers.into_iter().collect();
        self
    }

    /// The first valid ID found in `headers`, trying the sources in order.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use warden_correlation::http::HeaderPropagation;
    ///
    /// let mut incoming = HeaderMap::new();
    /// incoming.insert("x-request-id", "req-7f3a".parse().unwrap());
    /// let propagation = HeaderPropagation::new();
    /// let id = propagation.extract(&incoming).unwrap();
    /// assert_eq!(id.to_string(), "req-7f3a");
    ///
    /// let mut outgoing = HeaderMap::new();
    /// propagation.inject(&id, &mut outgoing);
    /// assert_eq!(outgoing["x-correlation-id"], "req-7f3a");
    /// ```
    pub fn extract(&self, headers: &HeaderMap) -> Option<CorrelationId> {
        self.sources.iter().find_map(|source| match source {
            IdSource::Header(name) => headers
                .get_all(name)
                .iter()
                .find_map(|v| v.to_str().ok()?.parse().ok()),
            IdSource::TraceParent => headers
                .get(TRACEPARENT)
                .and_then(|v| trace_id_of(v.to_str().ok()?)),
        })
    }

    /// Writes `id` into the configured headers, replacing what they held.
    pub fn inject(&self, id: &CorrelationId, headers: &mut HeaderMap) {
        // A valid ID is printable ASCII, so it is always a valid header value.
        let Ok(value) = HeaderValue::from_str(&id.to_string()) else {
            return;
        };
        for name in &self.inject {
            headers.insert(name.clone(), value.clone());
        }
    }

    /// Like [`inject`](Self::inject), but leaves a header alone if it is
    /// already set (a handler that chose its own value).
    pub fn inject_missing(&self, id: &CorrelationId, headers: &mut HeaderMap) {
        if self.inject.iter().all(|name| headers.contains_key(name)) {
            return;
        }
        let Ok(value) = HeaderValue::from_str(&id.to_string()) else {
            return;
        };
        for name in &self.inject {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
    }
}

/// The ID in `headers`, read as [`HeaderPropagation::default`] does.
pub fn extract(headers: &HeaderMap) -> Option<CorrelationId> {
    HeaderPropagation::default().extract(headers)
}

/// Writes `id` as `x-correlation-id`, as [`HeaderPropagation::default`] does.
pub fn inject(id: &CorrelationId, headers: &mut HeaderMap) {
    HeaderPropagation::default().inject(id, headers)
}

/// The trace-id of a `traceparent` value, if the value is well formed
/// (version `00` exactly four fields; later versions at least four) and
/// the trace-id and parent-id are not all zeros.
fn trace_id_of(traceparent: &str) -> Option<CorrelationId> {
    let mut parts = traceparent.trim().split('-');
    let version = parts.next()?;
    let trace_id = parts.next()?;
    let parent_id = parts.next()?;
    let flags = parts.next()?;
    let is_hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = is_hex(version, 2)
        && version != "ff"
        && is_hex(trace_id, 32)
        && is_hex(parent_id, 16)
        && parent_id != "0000000000000000"
        && is_hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    if !valid {
        return None;
    }
    CorrelationId::from_trace_id(u128::from_str_radix(trace_id, 16).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn sources_are_tried_in_order() {
        let all = headers(&[
            ("traceparent", TP),
            ("x-request-id", "req-2"),
            ("x-correlation-id", "corr-1"),
        ]);
        let p = HeaderPropagation::default();
        assert_eq!(p.extract(&all).unwrap().to_string(), "corr-1");
        let p = p.extract_from([IdSource::TraceParent, IdSource::Header(X_REQUEST_ID)]);
        assert_eq!(
            p.extract(&all).unwrap().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            extract(&headers(&[("x-request-id", "req-2")]))
                .unwrap()
                .to_string(),
            "req-2"
        );
    }

    #[test]
    fn invalid_values_fall_through_to_the_next_source() {
        let bad = headers(&[
            ("x-correlation-id", ""),
            ("x-request-id", &"x".repeat(200)),
            ("traceparent", TP),
        ]);
        assert_eq!(
            extract(&bad).unwrap().as_trace_id(),
            Some(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736)
        );
        let mut non_ascii = HeaderMap::new();
        non_ascii.insert(
            X_CORRELATION_ID,
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        assert_eq!(extract(&non_ascii), None);
        assert_eq!(extract(&HeaderMap::new()), None);
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ] {
            assert_eq!(trace_id_of(bad), None, "{bad}");
        }
        assert!(
            trace_id_of("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what").is_some()
        );
    }

    #[test]
    fn inject_writes_every_configured_header() {
        let id: CorrelationId = "req-9".parse().unwrap();
        let p = HeaderPropagation::default().inject_into([X_CORRELATION_ID, X_REQUEST_ID]);
        let mut out = headers(&[("x-request-id", "old")]);
        p.inject(&id, &mut out);
        assert_eq!(out["x-correlation-id"], "req-9");
        assert_eq!(out["x-request-id"], "req-9");
        let mut kept = headers(&[("x-request-id", "chosen")]);
        p.inject_missing(&id, &mut kept);
        assert_eq!(kept["x-request-id"], "chosen");
        assert_eq!(kept["x-correlation-id"], "req-9");
    }
}
