//! LISTEN/NOTIFY wake-ups for the consumer loops. One connection listens on the channels of
//! the orchestrator's queues and wakes the matching loop. Notifications are lossy by design
//! (and lost while reconnecting), so after every (re)connect all loops are woken, and the
//! loops keep a slow fallback poll.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A channel name and the loop it wakes.
pub type Subscription = (String, Arc<Notify>);

pub async fn listen(pool: PgPool, subscriptions: Vec<Subscription>, cancel: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match connect(&pool, &subscriptions).await {
            Ok(mut listener) => {
                backoff = Duration::from_millis(100);
                wake_all(&subscriptions);
                if relay(&mut listener, &subscriptions, &cancel).await {
                    return;
                }
            }
            Err(e) => warn!(component = "runtime.wakeups", error = %e, "cannot LISTEN; loops fall back to polling"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn connect(pool: &PgPool, subscriptions: &[Subscription]) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all(subscriptions.iter().map(|(channel, _)| channel.as_str())).await?;
    Ok(listener)
}

/// Forwards notifications until cancelled (true) or the connection fails (false).
async fn relay(listener: &mut PgListener, subscriptions: &[Subscription], cancel: &CancellationToken) -> bool {
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return true,
            received = listener.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                if let Some((_, notify)) = subscriptions.iter().find(|(channel, _)| channel == notification.channel()) {
                    notify.notify_one();
                }
            }
            // The connection dropped and will be re-established by the next call; anything
            // sent meanwhile was not announced.
            Ok(None) => {
                debug!(component = "runtime.wakeups", "listener reconnecting");
                wake_all(subscriptions);
            }
            Err(e) => {
                warn!(component = "runtime.wakeups", error = %e, "listener failed; reconnecting");
                return false;
            }
        }
    }
}

fn wake_all(subscriptions: &[Subscription]) {
    subscriptions.iter().for_each(|(_, notify)| notify.notify_one());
}
