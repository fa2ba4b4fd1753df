//! Fuzzes the CLI's HTTP client (`warden top`, `warden filter`): reading
//! an answer (status line, headers, a chunked body) and parsing an
//! endpoint, on arbitrary bytes. Either gives an answer or an error, never
//! a panic; a chunked body never comes out longer than it went in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_cli::http::Url;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 4 == 0 {
        // An endpoint as a user types it.
        let text = String::from_utf8_lossy(rest);
        if let Ok(url) = Url::parse(&text, |p| p.unwrap_or("/metrics").to_owned()) {
            assert!(url.path.starts_with('/'), "{url:?}");
            assert!(url.host.contains(':'), "{url:?}");
        }
        return;
    }
    let url = Url::parse("http://127.0.0.1:9464", |_| "/metrics".to_owned()).expect("a valid endpoint");
    if let Ok(answer) = url.read(rest) {
        assert!(answer.status_line.starts_with("HTTP/"));
        // Joining chunks only removes framing (a lossy decode may widen
        // invalid bytes to U+FFFD, three bytes each).
        assert!(answer.body.len() <= 3 * rest.len());
    }
});
