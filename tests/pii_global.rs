//! The gate under a global default dispatcher (its own test binary, as a
//! process can set the global default once).

use tracing_subscriber::prelude::*;
use warden::pii::PiiLayer;
use warden_test_support::{Buffer, assert_clean};

#[test]
fn works_as_the_global_default() {
    let buf = Buffer::default();
    let pii = PiiLayer::default();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(buf.clone()),
        )
        .with(pii.clone())
        .init();
    tracing::info!(user = "ada@example.com", "signed in from {}", "10.20.30.40");
    std::thread::spawn(|| tracing::warn!(card = "4111 1111 1111 1111", "from another thread"))
        .join()
        .unwrap();
    let out = buf.contents();
    assert_clean(&out);
    assert_eq!(buf.lines().len(), 2);
    assert!(
        out.contains("signed in from [REDACTED:IP_ADDRESS]"),
        "{out}"
    );
    assert_eq!(pii.dropped_events(), 0);
}
