//! Fetching `/metrics` over HTTP and reading the exposition text.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One sample: a metric name, its labels, its value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// Why a scrape gave nothing to show.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScrapeError {
    #[error("{0}: only http:// endpoints (the warden ops server) are supported")]
    Scheme(String),
    #[error("cannot reach {target}: {source}")]
    Unreachable {
        target: String,
        source: std::io::Error,
    },
    #[error("{target} answered {status}")]
    Status { target: String, status: String },
    #[error("{target} did not answer with metrics: {reason}")]
    Garbage { target: String, reason: String },
}

/// The `/metrics` URL for `endpoint` (`http://host:port`, with or without
/// a path): host:port, and the path to ask for.
pub(crate) fn target(endpoint: &str) -> Result<(String, String), ScrapeError> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| ScrapeError::Scheme(endpoint.to_owned()))?;
    let (host, path) = match rest.split_once('/') {
        Some((host, path)) if !path.is_empty() => (host, format!("/{path}")),
        Some((host, _)) => (host, "/metrics".to_owned()),
        None => (rest, "/metrics".to_owned()),
    };
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    Ok((host, path))
}

/// Fetches and parses the endpoint's metrics (each call one connection,
/// with short timeouts).
pub(crate) fn scrape(endpoint: &str) -> Result<Vec<Sample>, ScrapeError> {
    let (host, path) = target(endpoint)?;
    let unreachable = |source| ScrapeError::Unreachable {
        target: endpoint.to_owned(),
        source,
    };
    let addr = host
        .to_socket_addrs()
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| unreachable(std::io::Error::other("no address")))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(unreachable)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {host}\r\naccept: text/plain;version=0.0.4\r\nconnection: close\r\n\r\n"
    )
    .map_err(unreachable)?;
    let mut response = Vec::new();
    stream
        .take(64 * 1024 * 1024)
        .read_to_end(&mut response)
        .map_err(unreachable)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ScrapeError::Garbage {
            target: endpoint.to_owned(),
            reason: "not an HTTP response".into(),
        })?;
    let status = head.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        return Err(ScrapeError::Status {
            target: endpoint.to_owned(),
            status: status.to_owned(),
        });
    }
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    parse(&body).map_err(|reason| ScrapeError::Garbage {
        target: endpoint.to_owned(),
        reason,
    })
}

/// A chunked body, joined.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// The samples of an exposition text (Prometheus or OpenMetrics); an error
/// if a line is neither a comment nor a sample.
pub(crate) fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        samples.push(parse_line(line).ok_or_else(|| format!("line {}: {line:.80}", n + 1))?);
    }
    if samples.is_empty() {
        return Err("no samples".into());
    }
    Ok(samples)
}

fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let end;
        loop {
            // A label name up to `=`, then a quoted value with escapes.
            while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                chars.next();
            }
            if let Some(&(i, '}')) = chars.peek() {
                end = i;
                break;
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()? {
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    (_, '"') => break,
                    (_, c) => value.push(c),
                }
            }
            labels.insert(key.trim().to_owned(), value);
        }
        rest = &inner[end + 1..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expositions_parse_with_escapes_and_special_values() {
        let text = "# HELP x y\n# TYPE x counter\nx_total{operation=\"a \\\"b\\\"\\\\c\",code=\"5\"} 3\nup 1\nq{quantile=\"0.5\"} NaN\n# EOF\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].labels["operation"], "a \"b\"\\c");
        assert_eq!(samples[0].labels["code"], "5");
        assert_eq!(samples[1].name, "up");
        assert!(samples[2].value.is_nan());
        assert!(parse("<html>nope</html>").is_err());
        assert!(parse("").is_err());
        assert!(target("https://x").is_err());
        assert_eq!(
            target("http://127.0.0.1:9464").unwrap(),
            ("127.0.0.1:9464".into(), "/metrics".into())
        );
        assert_eq!(target("http://h:1/ops/metrics").unwrap().1, "/ops/metrics");
        assert_eq!(dechunk("5\r\nhello\r\n0\r\n\r\n"), "hello");
    }
}
