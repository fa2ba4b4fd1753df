//! Fetching `/metrics` over HTTP and reading the exposition text.

use std::collections::BTreeMap;

use warden_cli::http::{HttpError, Url};

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
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{target} answered {status}")]
    Status { target: String, status: String },
    #[error("{target} did not answer with metrics: {reason}")]
    Garbage { target: String, reason: String },
}

/// Fetches and parses the endpoint's metrics (`http://host:port`, or the
/// metrics' own path: `http://host:port/ops/metrics`).
pub(crate) fn scrape(endpoint: &str) -> Result<Vec<Sample>, ScrapeError> {
    let url = Url::parse(endpoint, |path| path.unwrap_or("/metrics").to_owned())?;
    let response = url.request("GET", &[("accept", "text/plain;version=0.0.4")], "")?;
    if response.status != 200 {
        return Err(ScrapeError::Status {
            target: endpoint.to_owned(),
            status: response.status_line,
        });
    }
    parse(&response.body).map_err(|reason| ScrapeError::Garbage {
        target: endpoint.to_owned(),
        reason,
    })
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
    }
}
