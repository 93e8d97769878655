//! Counters reported by `status`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

#[derive(Debug, Default)]
pub struct Stats {
    pub requests_created: AtomicU64,
    pub requests_duplicate: AtomicU64,
    pub requests_rejected: AtomicU64,
    pub results_applied: AtomicU64,
    pub results_set_aside: AtomicU64,
    pub steps_dispatched: AtomicU64,
    pub tasks_finished: AtomicU64,
    pub loop_errors: AtomicU64,
    pub loop_restarts: AtomicU64,
    pub archives_pruned: AtomicU64,
    pub tables_vacuumed: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Requests and results handled so far (the housekeeping loop's measure of activity).
    pub fn messages_handled(&self) -> u64 {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        get(&self.requests_created)
            + get(&self.requests_duplicate)
            + get(&self.requests_rejected)
            + get(&self.results_applied)
            + get(&self.results_set_aside)
    }

    pub fn snapshot(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "requests_created": get(&self.requests_created),
            "requests_duplicate": get(&self.requests_duplicate),
            "requests_rejected": get(&self.requests_rejected),
            "results_applied": get(&self.results_applied),
            "results_set_aside": get(&self.results_set_aside),
            "steps_dispatched": get(&self.steps_dispatched),
            "tasks_finished": get(&self.tasks_finished),
            "loop_errors": get(&self.loop_errors),
            "loop_restarts": get(&self.loop_restarts),
            "archives_pruned": get(&self.archives_pruned),
            "tables_vacuumed": get(&self.tables_vacuumed),
        })
    }
}
