//! Several processes on one database (PostgreSQL, MariaDB, or one SQLite
//! file shared by two servers or a server and the operator's command): each
//! tells the others of its cache invalidations and applies theirs. The SQL
//! lives in `store::invalidation`; this is the plumbing between it and the
//! session cache.
//!
//! - Publishing: the cache's outbox (`invalidation_outbox` entries) is
//!   drained in batches, each appended to the log in one INSERT, retried
//!   with backoff; on PostgreSQL each batch is also `NOTIFY`ed so the
//!   others hear at once. An invalidation that could not be queued (the
//!   outbox was full) or written (every retry failed) is replaced by a
//!   "drop everything" message (`Invalidation::All`), retried until written.
//! - Reading: every second each process reads the log past the last id it
//!   read and applies what the others wrote. Ids are handed out before
//!   commit, so a lower id can appear after a higher one: ids skipped are
//!   read again for `GAP_KEEP` (`Cursor`). Rows are pruned after
//!   `LOG_KEEP`; a process that finds it fell behind the pruned range (or
//!   missed more than it can track) drops its whole cache.

mod cursor;
mod publish;
mod read;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::cache::Invalidation;
use crate::store::invalidation::{self, Heard};

pub use cursor::{Cursor, Standing};
pub use publish::{Outgoing, Undelivered};
use publish::{Publisher, publishing};
use read::reading;

/// How often the log is read.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long rows stay in the log: far longer than a reader's interval, so
/// only a process stalled or cut off from the database for minutes finds
/// the rows it had not read pruned.
pub const LOG_KEEP: Duration = Duration::from_secs(300);
/// How often the log is pruned.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// How long shutdown waits for the outbox to be written.
const DRAIN_WITHIN: Duration = Duration::from_secs(5);

/// The tasks sharing this process's invalidations; `finish` lets the
/// publisher write what is queued before the process stops.
pub struct Sharing {
    tasks: Vec<JoinHandle<()>>,
    publisher: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl Sharing {
    /// Writes what is still queued (waiting at most `DRAIN_WITHIN`), then
    /// stops every task.
    pub async fn finish(mut self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(DRAIN_WITHIN, &mut self.publisher)
            .await
            .is_err()
        {
            tracing::warn!("cache invalidations still queued at shutdown not published");
            self.publisher.abort();
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts publishing this process's invalidations and applying the
/// others' (the log everywhere, `LISTEN` too on PostgreSQL). Reading starts
/// at the log's end as it is now, before the process serves anything.
pub async fn share(app: &Arc<App>) -> Sharing {
    let origin = new_origin();
    let cursor = match invalidation::bounds(&app.db).await {
        Ok((_, hi)) => Some(Cursor::new(hi.unwrap_or(0))),
        Err(e) => {
            tracing::warn!(error = %e, "cache invalidation log not read at start-up");
            None
        }
    };
    let (outbox, queued) = mpsc::channel::<Invalidation>(outbox_capacity(app));
    app.sessions.set_outbox(outbox);
    let (stop, stopping) = watch::channel(false);
    let publisher = tokio::spawn(publishing(
        Publisher::new(app.clone(), origin.clone()),
        queued,
        stopping,
    ));
    let mut tasks = vec![tokio::spawn(reading(app.clone(), origin.clone(), cursor))];
    if invalidation::notifies(&app.db) {
        let (heard_tx, mut heard) = mpsc::channel::<Heard>(1024);
        tasks.push(tokio::spawn(invalidation::listen(app.db.clone(), heard_tx)));
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(h) = heard.recv().await {
                // A reconnection needs no flush: whatever was notified
                // meanwhile is in the log, read within a second.
                if let Heard::Message(payload) = h
                    && let Some((from, what)) = payload.split_once('|')
                    && from != origin
                    && let Some(what) = Invalidation::decode(what)
                {
                    app.sessions.apply(what).await;
                    app.metrics.invalidations.applied.inc();
                }
            }
        }));
    }
    Sharing {
        tasks,
        publisher,
        stop,
    }
}

fn outbox_capacity(app: &App) -> usize {
    usize::try_from(app.config.sessions.invalidation_outbox)
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Deletes the log's rows older than `LOG_KEEP` (every process does; it is
/// one indexed statement).
pub async fn prune(app: &App) {
    let keep = chrono::Duration::from_std(LOG_KEEP).unwrap_or(chrono::Duration::MAX);
    let Some(cutoff) = app.now().checked_sub_signed(keep) else {
        return;
    };
    if let Err(e) = invalidation::prune(&app.db, cutoff).await {
        tracing::warn!(error = %e, "old cache invalidations not pruned");
    }
}

fn new_origin() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
