//! The PostgreSQL store (feature `postgres`): one database many instances
//! share, a hash chain per writer, partitions that retention drops whole,
//! and a role that can only append.

mod connect;
mod read;
mod schema;
mod sink;

pub use connect::SslMode;
pub use connect::is_postgres;
pub use read::{PostgresStore, PurgeSigner};
pub use schema::{POSTGRES_SCHEMA_VERSION, setup_role_sql};
pub use sink::{PostgresSink, PostgresSinkBuilder};

/// The statements that create the schema (what a writer with the rights
/// would run on first use), for an administrator to run before
/// [`setup_role_sql`].
pub fn create_schema(target: &str) -> Result<(), crate::AuditError> {
    let settings = connect::PgSettings::parse(target)?;
    let mut client = settings.connect()?;
    schema::migrate(&mut client, &settings.display)
}
