//! `GET /filter` and `PUT /filter`: the log directives of a running
//! stack, read and changed over HTTP behind a bearer token.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use http_body_util::Full;
use subtle::ConstantTimeEq;

use super::Ops;
use super::service::text;

/// The environment variable `init()` reads the ops token from: without a
/// token, `PUT /filter` is refused.
pub const TOKEN_ENV: &str = "WARDEN_OPS_TOKEN";

/// The header a client names itself in, for the audit record of its
/// change (`warden filter` sends the user's name).
pub(super) const ACTOR_HEADER: &str = "x-warden-actor";

/// The largest directives `PUT /filter` reads.
pub(super) const MAX_BODY: usize = 16 * 1024;

/// A bearer token, kept out of `Debug`.
#[derive(Clone)]
pub(super) struct Token(String);

impl Token {
    pub(super) fn new(token: String) -> Token {
        Token(token)
    }

    /// Whether `given` is the token, in time that does not depend on
    /// where they differ.
    fn matches(&self, given: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(given.as_bytes()))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Ops {
    /// The answer to `/filter`: `GET` shows the directives; `PUT` with
    /// `Authorization: Bearer <token>` and the new directives as its body
    /// applies them (401 without a bearer token, 403 with a wrong one or
    /// when no token is configured, 400 with the parser's message when the
    /// directives are invalid, which changes nothing).
    pub(super) fn answer_filter(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
    ) -> http::Response<Full<Bytes>> {
        let Some(filter) = &self.inner.filter else {
            return text(
                StatusCode::NOT_FOUND,
                "text/plain",
                "no log filter to show or change here\n".into(),
            );
        };
        if method == Method::GET || method == Method::HEAD {
            let body = serde_json::json!({ "directives": filter.directives() });
            return text(StatusCode::OK, "application/json", body.to_string());
        }
        if method != Method::PUT {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "GET or PUT /filter\n".into(),
            );
        }
        let Some(token) = &self.inner.token else {
            return text(
                StatusCode::FORBIDDEN,
                "text/plain",
                format!(
                    "changing the log filter is off: no ops token is configured ({TOKEN_ENV})\n"
                ),
            );
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(bearer) = bearer else {
            let mut response = text(
                StatusCode::UNAUTHORIZED,
                "text/plain",
                "PUT /filter needs `Authorization: Bearer <token>`\n".into(),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"warden\""),
            );
            return response;
        };
        if !token.matches(bearer.trim()) {
            return text(
                StatusCode::FORBIDDEN,
                "text/plain",
                "wrong ops token\n".into(),
            );
        }
        let Ok(directives) = std::str::from_utf8(body) else {
            return text(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "the directives are not UTF-8\n".into(),
            );
        };
        let who = headers
            .get(ACTOR_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .map_or_else(|| "ops".to_owned(), |v| format!("{} (ops)", v.trim()));
        match filter.set_by(directives.trim(), &who) {
            Ok(change) => text(
                StatusCode::OK,
                "application/json",
                serde_json::json!({ "old": change.old, "new": change.new }).to_string(),
            ),
            Err(e) => text(StatusCode::BAD_REQUEST, "text/plain", format!("{e}\n")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_matches_itself_only() {
        let token = Token::new("s3cret".into());
        assert!(token.matches("s3cret"));
        for wrong in [
            "",
            "s3cre",
            "s3cret ",
            "S3cret",
            "s3cres",
            "s3cret-and-more",
        ] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
        assert_eq!(format!("{token:?}"), "Token(…)");
    }
}
