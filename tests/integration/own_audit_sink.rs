//! An audit sink the application wrote plugs into `Warden::builder()`:
//! routed as the built-in stores are, its records' identity fields hashed
//! under the given key, and verified by `Verifier` through `ChainStore`,
//! nothing of warden-audit touched.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden::Warden;
use warden::audit::{
    AuditError, AuditKey, AuditRecord, AuditSink, ChainStore, EachRecord, GENESIS, Hash, Problem,
    SinkError, StoredCheckpoint, Verifier, link,
};

/// Keeps every record it is given, chained as warden's stores chain them:
/// each with the hash it links to and its own.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<(AuditRecord, Hash, Hash)>>>);

impl Kept {
    fn records(&self) -> Vec<AuditRecord> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _, _)| r.clone())
            .collect()
    }
}

impl AuditSink for Kept {
    fn name(&self) -> String {
        "kept".into()
    }

    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        let mut kept = self.0.lock().unwrap();
        for record in records {
            let prev = kept.last().map_or(GENESIS, |(_, _, hash)| *hash);
            kept.push((record.clone(), prev, link(&prev, record)));
        }
        Ok(())
    }
}

/// What a verifier reads of it: one stream, no checkpoints.
impl ChainStore for Kept {
    fn streams(&mut self) -> Result<Vec<String>, AuditError> {
        Ok(vec!["kept".into()])
    }

    fn checkpoints(&mut self, _: &str) -> Result<Vec<StoredCheckpoint>, AuditError> {
        Ok(Vec::new())
    }

    fn walk(&mut self, _: &str, each: &mut EachRecord<'_>) -> Result<(), AuditError> {
        for (seq, (record, prev, hash)) in self.0.lock().unwrap().iter().enumerate() {
            each(seq as i64 + 1, Some(record), *prev, *hash);
        }
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
    let records = kept.records();
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["login", "read_order"]);
    let user = records[0].user_id.as_deref().unwrap();
    assert!(!user.contains("ada@example.com"), "{user}");

    // The same verification as the built-in stores', through the trait.
    let mut store = kept.clone();
    let report = &Verifier::new().verify_store(&mut store).unwrap().streams[0].1;
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.records, report.valid), (2, 2));
    // An edited record is found.
    kept.0.lock().unwrap()[1].0.action = "delete_order".into();
    let report = &Verifier::new().verify_store(&mut store).unwrap().streams[0].1;
    assert_eq!(report.problems, [Problem::Edited { seq: 2 }]);
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
