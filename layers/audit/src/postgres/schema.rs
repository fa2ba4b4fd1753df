//! The PostgreSQL store's schema: versioned, created on first use, records
//! partitioned by day so that retention drops whole partitions.

use postgres::GenericClient;

use super::connect::error_text;
use crate::error::AuditError;

/// The schema version this build writes and reads.
pub const POSTGRES_SCHEMA_VERSION: i64 = 1;

/// Days of partitions made ahead of time, so that a writer without the
/// right to create tables never needs one.
pub(crate) const DAYS_AHEAD: i64 = 14;

const MICROS_PER_DAY: i64 = 86_400_000_000;

const SCHEMA_V1: &str = "
CREATE TABLE warden_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Each stream, and each key that signed its checkpoints (a writer that
-- restarts with a new key adds one).
CREATE TABLE audit_streams (
    stream TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    public_key BYTEA,
    PRIMARY KEY (stream, key_id)
);
CREATE TABLE audit_records (
    row_id BIGSERIAL,
    stream TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    ts_us BIGINT NOT NULL,
    level TEXT NOT NULL,
    event_type TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    resource_id TEXT,
    user_id TEXT,
    client_ip_hash TEXT,
    user_agent TEXT,
    correlation_id TEXT,
    duration_ms DOUBLE PRECISION,
    error_message TEXT,
    metadata TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (stream, seq, ts_us)
) PARTITION BY RANGE (ts_us);
CREATE TABLE audit_records_default PARTITION OF audit_records DEFAULT;
CREATE INDEX audit_records_ts ON audit_records (ts_us);
CREATE INDEX audit_records_event_type ON audit_records (event_type, ts_us);
CREATE INDEX audit_records_user ON audit_records (user_id);
CREATE INDEX audit_records_resource ON audit_records (resource_id);
CREATE INDEX audit_records_correlation ON audit_records (correlation_id);
CREATE INDEX audit_records_row ON audit_records (row_id);
CREATE TABLE audit_checkpoints (
    id BIGSERIAL PRIMARY KEY,
    stream TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    kind TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    head_hash BYTEA NOT NULL,
    record_count BIGINT NOT NULL,
    anchor_seq BIGINT NOT NULL,
    anchor_hash BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    algorithm TEXT NOT NULL,
    public_key BYTEA
);
CREATE INDEX audit_checkpoints_stream ON audit_checkpoints (stream, id);
-- A stream's head, for its writer: the only read an INSERT-only role needs.
CREATE FUNCTION warden_stream_head(name TEXT, OUT seq BIGINT, OUT hash BYTEA)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT seq, hash FROM audit_records WHERE stream = name ORDER BY seq DESC LIMIT 1
$$;
INSERT INTO warden_meta (key, value) VALUES ('kind', 'warden-audit'), ('schema_version', '1');
";

/// The schema version of the database `client` is connected to, if it
/// holds a warden audit store.
pub(crate) fn version(
    client: &mut impl GenericClient,
    target: &str,
) -> Result<Option<i64>, AuditError> {
    let failed = |e: postgres::Error| AuditError::Postgres {
        target: target.to_owned(),
        reason: error_text(&e),
    };
    let exists: bool = client
        .query_one("SELECT to_regclass('warden_meta') IS NOT NULL", &[])
        .map_err(failed)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let rows = client
        .query(
            "SELECT key, value FROM warden_meta WHERE key IN ('kind', 'schema_version')",
            &[],
        )
        .map_err(failed)?;
    let get = |name: &str| {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == name)
            .map(|r| r.get::<_, String>(1))
    };
    if get("kind").as_deref() != Some("warden-audit") {
        return Err(AuditError::Postgres {
            target: target.to_owned(),
            reason: "its warden_meta table is not a warden audit store's".into(),
        });
    }
    get("schema_version")
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| AuditError::Postgres {
            target: target.to_owned(),
            reason: "no schema version in warden_meta".into(),
        })
}

/// Creates the schema if the database has none (under an advisory lock,
/// so that writers starting together create it once), and refuses one
/// newer than this build. A role that may not create tables gets a clear
/// error naming `warden audit setup-role`.
pub(crate) fn migrate(client: &mut postgres::Client, target: &str) -> Result<(), AuditError> {
    let failed = |e: postgres::Error| AuditError::Postgres {
        target: target.to_owned(),
        reason: error_text(&e),
    };
    if let Some(found) = version(client, target)? {
        return check_version(found, target);
    }
    let mut tx = client.transaction().map_err(failed)?;
    tx.execute("SELECT pg_advisory_xact_lock(7752341)", &[])
        .map_err(failed)?;
    if let Some(found) = version(&mut tx, target)? {
        return check_version(found, target);
    }
    tx.batch_execute(SCHEMA_V1).map_err(|e| AuditError::Postgres {
        target: target.to_owned(),
        reason: format!(
            "cannot create the audit schema ({}); an administrator can create it and a role for the service with `warden audit setup-role`",
            error_text(&e)
        ),
    })?;
    ensure_partitions(
        &mut tx,
        crate::record::micros_since_epoch(std::time::SystemTime::now()),
        target,
    )?;
    tx.commit().map_err(failed)
}

fn check_version(found: i64, target: &str) -> Result<(), AuditError> {
    if found > POSTGRES_SCHEMA_VERSION {
        return Err(AuditError::Postgres {
            target: target.to_owned(),
            reason: format!(
                "audit schema version {found}; this warden reads up to {POSTGRES_SCHEMA_VERSION}"
            ),
        });
    }
    Ok(())
}

/// The day (since the epoch) a time in microseconds falls in.
pub(crate) fn day_of(ts_us: i64) -> i64 {
    ts_us.div_euclid(MICROS_PER_DAY)
}

/// The name of the partition of `day`: `audit_records_p` and its date.
pub(crate) fn partition_name(day: i64) -> String {
    let mut date = String::new();
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs((day.max(0) as u64) * 86_400);
    warden_core::internal::rfc3339_micros(&mut date, time);
    format!("audit_records_p{}", date[..10].replace('-', ""))
}

/// Creates the daily partitions from the day before `now_us` (a clock
/// behind ours) to [`DAYS_AHEAD`] days later, where missing.
pub(crate) fn ensure_partitions(
    client: &mut impl GenericClient,
    now_us: i64,
    target: &str,
) -> Result<(), AuditError> {
    let today = day_of(now_us);
    for day in today - 1..=today + DAYS_AHEAD {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF audit_records FOR VALUES FROM ({}) TO ({})",
            partition_name(day),
            day * MICROS_PER_DAY,
            (day + 1) * MICROS_PER_DAY
        );
        client
            .batch_execute(&sql)
            .map_err(|e| AuditError::Postgres {
                target: target.to_owned(),
                reason: format!(
                    "creating partition {}: {}",
                    partition_name(day),
                    error_text(&e)
                ),
            })?;
    }
    Ok(())
}

/// The SQL that creates the schema (if missing) and a role `role` that can
/// only add records, checkpoints and streams, and read its own stream's
/// head: the service cannot rewrite history with its own credentials.
pub fn setup_role_sql(role: &str) -> String {
    let role = quote_ident(role);
    format!(
        "-- The warden audit store, and a role that may only append to it.
CREATE ROLE {role} LOGIN;  -- then: ALTER ROLE {role} PASSWORD '...';
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON warden_meta TO {role};
GRANT INSERT ON audit_records, audit_checkpoints, audit_streams TO {role};
GRANT USAGE ON SEQUENCE audit_records_row_id_seq, audit_checkpoints_id_seq TO {role};
GRANT EXECUTE ON FUNCTION warden_stream_head(TEXT) TO {role};
"
    )
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_named_by_their_utc_day() {
        let day = day_of(1_795_889_268_000_000);
        assert_eq!(partition_name(day), "audit_records_p20261128");
        assert_eq!(day_of(-1), -1);
        assert_eq!(quote_ident("svc\"x"), "\"svc\"\"x\"");
        assert!(setup_role_sql("svc").contains("GRANT INSERT ON audit_records"));
        assert!(!setup_role_sql("svc").contains("UPDATE"));
    }
}
