//! The little HTTP/1.1 the CLI speaks to a service's ops endpoint
//! (`warden top`'s scrapes, `warden filter`'s changes): one request per
//! connection, short timeouts, plain `http://` only.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why a request got no answer to read.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The endpoint is not `http://…` (the endpoint as given).
    #[error("{0}: only http:// endpoints (the warden ops server) are supported")]
    Scheme(String),
    /// No connection, or it broke.
    #[error("cannot reach {target}: {source}")]
    Unreachable {
        /// The endpoint as given.
        target: String,
        /// What the connection said.
        source: std::io::Error,
    },
    /// An answer that is not HTTP, or not whole.
    #[error("{target} did not answer: {reason}")]
    Garbage {
        /// The endpoint as given.
        target: String,
        /// What is wrong with the answer.
        reason: String,
    },
}

/// An endpoint: where to connect, and the path to ask for.
#[derive(Debug, PartialEq)]
pub struct Url {
    /// As the user wrote it, for messages.
    given: String,
    /// `host:port`.
    pub host: String,
    /// The path to ask for (`/metrics`).
    pub path: String,
}

/// What the endpoint answered.
#[derive(Debug)]
pub struct Response {
    /// The status code (`403`).
    pub status: u16,
    /// `HTTP/1.1 403 Forbidden`.
    pub status_line: String,
    /// The body, joined if it came in chunks.
    pub body: String,
}

impl Url {
    /// `http://host[:port][/path]`; `path` chooses the path to ask for
    /// from the one given, if any.
    pub fn parse(
        endpoint: &str,
        path: impl FnOnce(Option<&str>) -> String,
    ) -> Result<Url, HttpError> {
        let rest = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| HttpError::Scheme(endpoint.to_owned()))?;
        let (host, given_path) = match rest.split_once('/') {
            Some((host, p)) if !p.trim_end_matches('/').is_empty() => {
                (host, Some(format!("/{}", p.trim_end_matches('/'))))
            }
            Some((host, _)) => (host, None),
            None => (rest, None),
        };
        let host = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        Ok(Url {
            given: endpoint.to_owned(),
            host,
            path: path(given_path.as_deref()),
        })
    }

    /// Sends `method` with `headers` and `body` and reads the whole answer
    /// (at most 64 MiB; a chunked body is joined).
    pub fn request(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Response, HttpError> {
        let unreachable = |source| HttpError::Unreachable {
            target: self.given.clone(),
            source,
        };
        let addr = self
            .host
            .to_socket_addrs()
            .map_err(unreachable)?
            .next()
            .ok_or_else(|| unreachable(std::io::Error::other("no address")))?;
        let mut stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(unreachable)?;
        let mut head = format!("{method} {} HTTP/1.1\r\nhost: {}\r\n", self.path, self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method != "GET" {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("connection: close\r\n\r\n");
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.as_bytes()))
            .map_err(unreachable)?;
        let mut response = Vec::new();
        stream
            .take(64 * 1024 * 1024)
            .read_to_end(&mut response)
            .map_err(unreachable)?;
        self.read(&response)
    }

    /// An HTTP/1.1 response's status and body, from the bytes received
    /// (what [`request`](Self::request) reads; any bytes give an answer or
    /// an error, never a panic: `fuzz/fuzz_targets/http_response.rs`).
    pub fn read(&self, response: &[u8]) -> Result<Response, HttpError> {
        let text = String::from_utf8_lossy(response);
        let garbage = |reason: &str| HttpError::Garbage {
            target: self.given.clone(),
            reason: reason.to_owned(),
        };
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| garbage("not an HTTP response"))?;
        let status_line = head.lines().next().unwrap_or_default().to_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .filter(|_| status_line.starts_with("HTTP/"))
            .ok_or_else(|| garbage("no status line"))?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Ok(Response {
            status,
            status_line,
            body,
        })
    }
}

/// A chunked body, joined.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size || !after.is_char_boundary(size) {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics_path(given: Option<&str>) -> String {
        given.unwrap_or("/metrics").to_owned()
    }

    #[test]
    fn endpoints_and_answers_parse() {
        assert!(Url::parse("https://x", metrics_path).is_err());
        let url = Url::parse("http://127.0.0.1:9464", metrics_path).unwrap();
        assert_eq!(
            (url.host.as_str(), url.path.as_str()),
            ("127.0.0.1:9464", "/metrics")
        );
        let url = Url::parse("http://h:1/ops/metrics/", metrics_path).unwrap();
        assert_eq!(url.path, "/ops/metrics");
        assert_eq!(Url::parse("http://h/", metrics_path).unwrap().host, "h:80");
        assert_eq!(dechunk("5\r\nhello\r\n0\r\n\r\n"), "hello");
        // A chunk size that would cut a character in two stops the body.
        assert_eq!(dechunk("1\r\né\r\n0\r\n\r\n"), "");
        let answer = url
            .read(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 3\r\n\r\nno\n")
            .unwrap();
        assert_eq!((answer.status, answer.body.as_str()), (403, "no\n"));
        assert!(url.read(b"<html>").is_err());
        assert!(url.read(b"SSH-2.0 x\r\n\r\n").is_err());
    }
}
