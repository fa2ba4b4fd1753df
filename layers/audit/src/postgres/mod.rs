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

/// Creates the schema in the database at `target` if it has none (what a
/// writer with the rights does on first use): for an administrator to run
/// before the service's append-only role exists.
pub fn create_schema(target: &str) -> Result<(), crate::AuditError> {
    let settings = connect::PgSettings::parse(target)?;
    let mut client = settings.connect()?;
    schema::migrate(&mut client, &settings.display)
}

/// Creates the schema if missing and the append-only role `role` (with
/// `password`, if given; else it can log in only once an administrator
/// sets one), as [`setup_role_sql`] says; an existing role is given the
/// same grants. Run it as a role that may create tables and roles.
pub fn setup_role(
    target: &str,
    role: &str,
    password: Option<&str>,
) -> Result<(), crate::AuditError> {
    let settings = connect::PgSettings::parse(target)?;
    let mut client = settings.connect()?;
    schema::migrate(&mut client, &settings.display)?;
    let failed = |e: postgres::Error| crate::AuditError::Postgres {
        target: settings.display.clone(),
        reason: connect::error_text(&e),
    };
    let exists = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
            &[&role],
        )
        .map_err(failed)?
        .get::<_, bool>(0);
    let mut sql = setup_role_sql(role);
    if exists {
        sql = sql
            .lines()
            .filter(|l| !l.starts_with("CREATE ROLE"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    if let Some(password) = password {
        sql.push_str(&format!(
            "\nALTER ROLE {} PASSWORD {};",
            schema::quote_ident(role),
            quote_literal(password)
        ));
    }
    client.batch_execute(&sql).map_err(failed)
}

/// `text` as a SQL string literal.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
