//! The orchestration core of tasker_core: DAG workflows on PostgreSQL and pgmq.
//!
//! Layers, lowest first: `masking` (credentials out of every printed text); `config` and
//! `logging`; `domain` (identifiers, templates, state machines, backoff: pure, no I/O);
//! `messaging` (message types, queue names, pgmq SQL inside our transactions); `db` (pool,
//! migrations, pgmq install); `orchestration` (template registry, task creation, dispatch,
//! results, finalization); `runtime` (tokio, loops, start/stop/status). A layer only uses
//! the ones before it.

//!
//! The public surface is what a host adapter needs and nothing more: configuration, the
//! orchestrator and operator, their error and its [`ErrorKind`], the limits a host must
//! mirror, the log pipe, template validation, the prioritized read, credential masking.
//! Every other module is `pub(crate)`; the crate's own integration tests reach them through the `internals`
//! feature, which the adapter never enables.

pub mod config;
mod error_kind;
pub mod limits;
pub mod masking;

/// Declares the internal layers: crate-private, public only with the `internals` feature
/// (this crate's integration tests enable it through their dev-dependency on the crate).
macro_rules! internal_layers {
    ($($layer:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $layer;
        #[cfg(not(feature = "internals"))]
        pub(crate) mod $layer;
    )*};
}
internal_layers!(db, domain, logging, messaging, orchestration, runtime);

pub use config::{ConfigError, CoreConfig, OrchestratorConfig};
pub use db::SESSION_SETTINGS;
pub use domain::template::TaskTemplate;
pub use error_kind::ErrorKind;
pub use logging::{close_pipe as close_log_pipe, open_pipe as open_log_pipe};
pub use messaging::queues::{prioritized_read_after_sql, prioritized_read_sql, QueueName};
pub use runtime::{load_templates, prepare_request, Operator, Orchestrator, RuntimeError};
