//! The orchestration core of tasker_core: DAG workflows on PostgreSQL and pgmq.
//!
//! Layers, lowest first: `masking` (credentials out of every printed text); `config` and
//! `logging`; `domain` (identifiers, templates, state machines, backoff: pure, no I/O);
//! `messaging` (message types, queue names, pgmq SQL inside our transactions); `db` (pool,
//! migrations, pgmq install); `orchestration` (template registry, task creation, dispatch,
//! results, finalization); `runtime` (tokio, loops, start/stop/status). A layer only uses
//! the ones before it.

pub mod config;
pub mod db;
pub mod domain;
pub mod logging;
pub mod masking;
pub mod messaging;
pub mod orchestration;
pub mod runtime;

pub use config::CoreConfig;

pub use runtime::{prepare_request, Operator, Orchestrator, RuntimeError};
