//! When a queue's next delayed message (a timer: a sleep, a signal's timeout) becomes
//! visible, so an idle loop sleeps no longer than that. Asked of the database only when it
//! may have changed: after a wake-up (every send NOTIFYs, delayed ones included), after work,
//! or once the known time has come; the idle poll alone asks nothing, so idle costs no more.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::messaging::queues::{self, QueueName};

pub struct NextDue {
    due: Option<Instant>,
    stale: bool,
}

impl NextDue {
    pub fn new() -> Self {
        Self { due: None, stale: true }
    }

    /// Something may have been sent: ask again before the next pause.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// How long an idle loop may sleep: `idle`, or less when a timer comes first.
    pub async fn pause(&mut self, pool: &PgPool, queue: &QueueName, idle: Duration) -> Duration {
        let now = Instant::now();
        if self.stale || self.due.is_some_and(|due| due <= now) {
            match queues::next_visible_in(pool, queue).await {
                Ok(next) => {
                    self.due = next.map(|d| now + d);
                    self.stale = false;
                }
                Err(_) => return idle, // the read's own errors are reported by the loop
            }
        }
        self.due.map_or(idle, |due| due.saturating_duration_since(now).min(idle))
    }
}
