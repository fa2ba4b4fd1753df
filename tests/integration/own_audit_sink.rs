//! An audit sink the application wrote plugs into `Warden::builder()`:
//! routed as the built-in stores are, its records' identity fields hashed
//! under the given key, nothing of warden-audit touched.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden::Warden;
use warden::audit::{AuditKey, AuditRecord, AuditSink, SinkError};

/// Keeps every record it is given.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<AuditRecord>>>);

impl AuditSink for Kept {
    fn name(&self) -> String {
        "kept".into()
    }

    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        self.0.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
}

#[test]
fn a_sink_of_the_applications_own_gets_the_audit_events() {
    let kept = Kept::default();
    let (subscriber, guard) = Warden::builder()
        .audit_sink("kept", kept.clone())
        .audit_key(AuditKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap())
        .without_otlp()
        .writer(std::io::sink)
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        warden::audit::authentication!(action = "login", user_id = "ada@example.com");
        warden::audit::data_access!(action = "read_order", resource_id = "order-1");
    });
    guard.flush(Duration::from_secs(10)).unwrap();
    let records = kept.0.lock().unwrap().clone();
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["login", "read_order"]);
    let user = records[0].user_id.as_deref().unwrap();
    assert!(!user.contains("ada@example.com"), "{user}");
}

#[test]
fn without_a_key_it_is_a_clear_error() {
    // With WARDEN_AUDIT_KEY set in the environment there is no error to see.
    if std::env::var_os("WARDEN_AUDIT_KEY").is_some() {
        return;
    }
    let err = Warden::builder()
        .audit_sink("kept", Kept::default())
        .without_otlp()
        .writer(std::io::sink)
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("WARDEN_AUDIT_KEY"), "{err}");
}
