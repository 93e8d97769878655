//! Database access: the pool, and the bootstrap that makes a database ready (pgmq, schema,
//! base queues). Bootstrap is idempotent and serialised by an advisory lock, so any number
//! of processes may start at once.

mod bootstrap;
mod vacuum;

pub use bootstrap::bootstrap;
#[cfg(feature = "internals")]
pub use bootstrap::{installed_pgmq, PgmqInstall, EMBEDDED_PGMQ_VERSION};
pub use vacuum::vacuum_bloated;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::masking::mask_credentials;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("installing pgmq failed: {0}")]
    Pgmq(String),
    #[error(transparent)]
    Queue(#[from] crate::messaging::MessagingError),
}

/// Settings of every session tasker_core opens (Ruby's workers set the same:
/// `Messaging::SessionSettings`, checked by spec/native). `plan_cache_mode`: the hot
/// statements are prepared once per connection and are lookups by key whatever their
/// parameters, so their generic plan is the plan; left to itself PostgreSQL plans the
/// CTE-heavy ones anew on every execution (custom plans), which was ~30% of its CPU.
/// `enable_seqscan`: a generic plan is made once per connection, often while the tables are
/// small (a new database, a test, a benchmark), and kept as they grow (until an ANALYZE
/// invalidates it, never with autovacuum off); planned on a small table a key lookup
/// becomes a scan of the whole table on every call. Off, the planner takes the index
/// wherever there is one, and still scans a table that has none. `jit`: that scan is then
/// costed as disabled (10^10), far above `jit_above_cost`, so a statement that must scan a
/// small table (the metrics fold, pgmq's version check) was compiled by LLVM on every call:
/// 80-330 ms of CPU for a statement that runs in 10 ms. Nothing of ours gains from JIT.
pub const SESSION_SETTINGS: &[(&str, &str)] =
    &[("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off"), ("jit", "off")];

/// Opens a pool. The URL is parsed here, not at compile time: the extension builds with no
/// database around.
/// A refused connection is retried until `timeout`.
pub async fn connect(url: &str, max_connections: u32, timeout: Duration) -> Result<PgPool, DbError> {
    let connect_error = |e: sqlx::Error| DbError::Connect { url: mask_credentials(url), message: mask_credentials(&e.to_string()) };
    let options: PgConnectOptions = url.parse().map_err(connect_error)?;
    let options = options.application_name("tasker_core").options(SESSION_SETTINGS.iter().copied());
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
        .map_err(connect_error)
}
