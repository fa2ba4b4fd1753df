//! Fuzzes log directives (`warden filter`, `PUT /filter`,
//! `guard.set_filter`, `RUST_LOG`): parsing arbitrary text, and a change
//! applied to a live stack that then logs. A directive is refused with a
//! message, or applied; never a panic. A refused change changes nothing.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tracing_subscriber::prelude::*;
use warden::{FilterHandle, StackFilter};

/// One stack for the whole run (as in a service: changes, not new stacks).
fn stack() -> &'static (tracing::Dispatch, FilterHandle) {
    static STACK: OnceLock<(tracing::Dispatch, FilterHandle)> = OnceLock::new();
    STACK.get_or_init(|| {
        let (filter, handle) = StackFilter::parse("info")
            .expect("a valid directive")
            .reloadable();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(filter)
                .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink)),
        );
        (dispatch, handle)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = StackFilter::parse(&text);
    let (dispatch, handle) = stack();
    let before = handle.directives();
    match handle.set_by(&text, "fuzz") {
        Ok(change) => {
            assert!(parsed.is_ok(), "applied what parse refuses: {text:?}");
            assert_eq!(change.new, text);
            assert_eq!(handle.directives(), text);
        }
        Err(refused) => {
            assert!(parsed.is_err(), "refused what parse takes: {text:?}");
            assert!(!refused.to_string().is_empty());
            assert_eq!(handle.directives(), before, "a refused change changed the filter");
        }
    }
    tracing::dispatcher::with_default(dispatch, || {
        let span = tracing::info_span!("request", user = "ada");
        let _entered = span.enter();
        tracing::debug!(target: "app::db", n = 1u64, "query");
        tracing::info!(target: "app", "done");
        tracing::error!("failed");
    });
});
