//! Makes a database ready for tasker_core: pgmq installed, our migrations applied, the
//! base queues created.

use std::str::FromStr;

use pgmq::install::Version;
use sqlx::{Connection, PgPool};
use tracing::{info, warn};

use super::DbError;
use crate::messaging::queues::{self, QueueName};

/// Arbitrary but fixed: serialises bootstraps of every process on this database.
const BOOTSTRAP_LOCK_KEY: i64 = 0x7461_736b_6572; // "tasker"

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

pub async fn bootstrap(pool: &PgPool) -> Result<(), DbError> {
    let mut lock_conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)").bind(BOOTSTRAP_LOCK_KEY).execute(&mut *lock_conn).await?;
    let outcome = bootstrap_locked(pool).await;
    // Unlock even when bootstrap failed; a dropped connection would release it too.
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(BOOTSTRAP_LOCK_KEY).execute(&mut *lock_conn).await;
    if unlocked.is_err() {
        let _ = lock_conn.detach().close().await;
    }
    outcome
}

async fn bootstrap_locked(pool: &PgPool) -> Result<(), DbError> {
    install_pgmq(pool).await?;
    MIGRATOR.run(pool).await?;
    let mut conn = pool.acquire().await?;
    for name in [queues::TASK_REQUESTS, queues::STEP_RESULTS] {
        let queue = QueueName::new(name).expect("built-in queue names are valid");
        queues::create(&mut conn, &queue).await?;
    }
    Ok(())
}

/// The pgmq version whose SQL the pgmq crate embeds (crate 0.33.7: pgmq 1.11.1). A fresh
/// install is checked against it (`tests/pgmq_install.rs`), so a crate bump that changes the
/// SQL cannot leave it stale.
pub const EMBEDDED_PGMQ_VERSION: &str = "1.11.1";

/// How pgmq is installed in a database (what tests/pgmq_install.rs checks after a bootstrap).
#[cfg(feature = "internals")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgmqInstall {
    /// `major.minor.patch`: `pg_extension.extversion` for an extension, else the highest
    /// version recorded in pgmq's own `pgmq.__pgmq_migrations`.
    pub version: String,
    pub as_extension: bool,
}

/// The pgmq installed in this database, if any. Reads only: it creates nothing and takes no
/// lock, unlike the crate's `installed_version`.
#[cfg(feature = "internals")]
pub async fn installed_pgmq(pool: &PgPool) -> Result<Option<PgmqInstall>, DbError> {
    let extension: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'").fetch_optional(pool).await?;
    if let Some(version) = extension {
        return Ok(Some(PgmqInstall { version, as_extension: true }));
    }
    Ok(recorded_sql_version(pool).await?.map(|v| PgmqInstall { version: v.to_string(), as_extension: false }))
}

/// The highest version in `pgmq.__pgmq_migrations`, where the crate records every script it
/// ran (`pgmq.sql` with the version it installs, then `pgmq--A--B.sql` with B). None when
/// the table is missing or empty.
async fn recorded_sql_version(pool: &PgPool) -> Result<Option<Version>, DbError> {
    let recorded: bool = sqlx::query_scalar("SELECT to_regclass('pgmq.__pgmq_migrations') IS NOT NULL").fetch_one(pool).await?;
    if !recorded {
        return Ok(None);
    }
    let versions: Vec<String> = sqlx::query_scalar("SELECT version FROM pgmq.__pgmq_migrations").fetch_all(pool).await?;
    let mut highest = None;
    for text in versions {
        let version = Version::from_str(&text).map_err(|e| DbError::Pgmq(e.to_string()))?;
        highest = highest.max(Some(version));
    }
    Ok(highest)
}

/// `CREATE EXTENSION pgmq` where the server has the extension; otherwise the SQL-only
/// install embedded in the pgmq crate. That install is versioned: pgmq's own scripts
/// (`pgmq.sql` for a fresh install, `pgmq--A--B.sql` for each upgrade) run in one
/// transaction and are recorded in `pgmq.__pgmq_migrations`, so a database installed by an
/// older build is upgraded, one that is current (or newer than this build) is left alone,
/// and a failure changes nothing. Callers hold the bootstrap lock.
async fn install_pgmq(pool: &PgPool) -> Result<(), DbError> {
    let (extension, schema, tables): (Option<String>, bool, bool) = sqlx::query_as(
        "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pgmq'),
                to_regnamespace('pgmq') IS NOT NULL,
                to_regclass('pgmq.meta') IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    if let Some(version) = extension {
        // Upgrading an extension (ALTER EXTENSION pgmq UPDATE) needs the server's package:
        // the operator's decision, not ours.
        info!(component = "db.bootstrap", version = %version, "pgmq is installed as an extension");
        return Ok(());
    }
    if !schema {
        let available: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgmq')").fetch_one(pool).await?;
        if available {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pgmq").execute(pool).await?;
            info!(component = "db.bootstrap", "installed pgmq as an extension");
            return Ok(());
        }
    }
    let before = recorded_sql_version(pool).await?;
    if before.is_none() && tables {
        // The crate would run the fresh-install script over it and fail on the first
        // CREATE TYPE; say what is wrong and how to fix it instead.
        return Err(DbError::Pgmq(UNRECORDED_INSTALL.into()));
    }
    pgmq::install::install_sql_from_embedded(pool).await.map_err(|e| DbError::Pgmq(e.to_string()))?;
    let after = recorded_sql_version(pool)
        .await?
        .ok_or_else(|| DbError::Pgmq("the pgmq install recorded no version in pgmq.__pgmq_migrations".into()))?;
    let embedded = Version::from_str(EMBEDDED_PGMQ_VERSION).map_err(|e| DbError::Pgmq(e.to_string()))?;
    match before {
        None => info!(component = "db.bootstrap", version = %after, "installed pgmq (SQL)"),
        Some(before) if before < after => {
            info!(component = "db.bootstrap", from = %before, to = %after, "upgraded pgmq (SQL)")
        }
        Some(_) if after > embedded => warn!(
            component = "db.bootstrap",
            version = %after,
            embedded = %embedded,
            "pgmq in this database is newer than the one this build embeds; left as it is"
        ),
        Some(_) => info!(component = "db.bootstrap", version = %after, "pgmq (SQL) is current"),
    }
    Ok(())
}

const UNRECORDED_INSTALL: &str = "pgmq is installed in schema pgmq but its version is not recorded in \
pgmq.__pgmq_migrations (installed by hand, by another client, or by pgmq crate <= 0.32.1), so it can be neither \
reinstalled nor upgraded safely. Record the installed version, then start again: \
CREATE TABLE IF NOT EXISTS pgmq.__pgmq_migrations (name text PRIMARY KEY, version text NOT NULL, \
run_at timestamptz NOT NULL DEFAULT clock_timestamp()); \
INSERT INTO pgmq.__pgmq_migrations (name, version) VALUES ('pgmq.sql', '<installed version, e.g. 1.11.1>');";
