//! Publishing: this process's invalidations, drained from the cache's
//! outbox in batches and appended to the log.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DbErr;
use tokio::sync::{mpsc, watch};

use super::{POLL_INTERVAL, new_origin, outbox_capacity};
use crate::app::App;
use crate::cache::Invalidation;
use crate::store::invalidation;

/// Invalidations written in one statement, at most: a burst of logouts
/// costs a round trip per batch, not per logout.
const BATCH: usize = 64;
/// Waits between the tries of a write to the log (so four tries in all,
/// about two seconds).
const RETRIES: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_millis(1500),
];

/// For a short-lived process (the operator's `authnzd user …`): collects
/// its invalidations; `Outgoing::send` writes them to the log before it
/// exits, so the running servers see a lock by command within a second
/// (at once on PostgreSQL), not after the TTL.
pub struct Outgoing(mpsc::Receiver<Invalidation>);

/// Why invalidations could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum Undelivered {
    #[error("the invalidation outbox was full")]
    OutboxFull,
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

impl Outgoing {
    pub fn collect(app: &App) -> Outgoing {
        let (outbox, queued) = mpsc::channel::<Invalidation>(outbox_capacity(app));
        app.sessions.set_outbox(outbox);
        Outgoing(queued)
    }

    pub async fn send(mut self, app: Arc<App>) -> Result<(), Undelivered> {
        let mut publisher = Publisher::new(app, new_origin());
        publisher
            .drain(&mut self.0, &mut Vec::with_capacity(BATCH))
            .await;
        match publisher.lost {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Writes this process's invalidations to the log.
pub(super) struct Publisher {
    app: Arc<App>,
    origin: String,
    /// Some invalidations were not delivered (why): "drop everything" is
    /// owed until it is written.
    lost: Option<Undelivered>,
}

impl Publisher {
    pub(super) fn new(app: Arc<App>, origin: String) -> Publisher {
        Publisher {
            app,
            origin,
            lost: None,
        }
    }

    /// Writes `batch`, trying again after each of `RETRIES`; when every
    /// try failed, "drop everything" is owed.
    async fn publish(&mut self, batch: &[Invalidation]) {
        if batch.is_empty() {
            return;
        }
        let messages: Vec<String> = batch.iter().map(Invalidation::encode).collect();
        match self.write(&messages).await {
            Ok(()) => {
                let n = u64::try_from(messages.len()).unwrap_or(u64::MAX);
                self.app.metrics.invalidations.published.inc_by(n);
            }
            Err(e) => {
                tracing::warn!(error = %e, count = messages.len(),
                    "cache invalidations not published; telling the other processes to drop everything");
                self.app.metrics.invalidations.publish_failed.inc();
                self.lost = Some(e.into());
            }
        }
    }

    /// Writes everything queued now, in batches, then settles.
    async fn drain(
        &mut self,
        queued: &mut mpsc::Receiver<Invalidation>,
        batch: &mut Vec<Invalidation>,
    ) {
        while let Ok(what) = queued.try_recv() {
            batch.push(what);
            if batch.len() == BATCH {
                self.publish(batch).await;
                batch.clear();
            }
        }
        self.publish(batch).await;
        batch.clear();
        self.settle().await;
    }

    /// Owes "drop everything" for invalidations the outbox had no room
    /// for, and writes what is owed (kept owed when it cannot be written
    /// yet: the next call tries again).
    async fn settle(&mut self) {
        let unsent = self.app.sessions.take_unsent();
        if unsent > 0 {
            tracing::warn!(
                unsent,
                "cache invalidation outbox full; telling the other processes to drop everything"
            );
            self.app.metrics.invalidations.outbox_full.inc_by(unsent);
            self.lost.get_or_insert(Undelivered::OutboxFull);
        }
        if self.lost.is_none() {
            return;
        }
        match self.write(&[Invalidation::All.encode()]).await {
            Ok(()) => {
                self.lost = None;
                self.app.metrics.invalidations.flush_all_published.inc();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cache flush for the other processes not published yet");
                self.lost = Some(e.into());
            }
        }
    }

    /// Appends to the log (with retries), then notifies on PostgreSQL
    /// (once: the log carries it anyway).
    async fn write(&self, messages: &[String]) -> Result<(), DbErr> {
        let db = &self.app.db;
        let mut waits = RETRIES.iter();
        loop {
            match invalidation::append(db, &self.origin, messages, self.app.now()).await {
                Ok(()) => break,
                Err(e) => match waits.next() {
                    Some(wait) => {
                        tracing::debug!(error = %e, "cache invalidations not written; retrying");
                        tokio::time::sleep(*wait).await;
                    }
                    None => return Err(e),
                },
            }
        }
        if invalidation::notifies(db) {
            let payloads: Vec<String> = messages
                .iter()
                .map(|m| format!("{}|{m}", self.origin))
                .collect();
            if let Err(e) = invalidation::notify_all(db, &payloads).await {
                tracing::debug!(error = %e, "cache invalidations not notified (the log has them)");
            }
        }
        Ok(())
    }
}

/// Drains the outbox until `stopping`, then writes what is left.
pub(super) async fn publishing(
    mut publisher: Publisher,
    mut queued: mpsc::Receiver<Invalidation>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    // A `Running` dropped without `shutdown` keeps serving: so does this.
    let mut watching = true;
    loop {
        // Woken at least every interval, so a full outbox noticed just
        // after the last batch, or a flush still owed, waits no longer.
        let stop = tokio::select! {
            n = queued.recv_many(&mut batch, BATCH) => n == 0,
            _ = tokio::time::sleep(POLL_INTERVAL) => false,
            changed = stopping.changed(), if watching => {
                watching = changed.is_ok();
                watching && *stopping.borrow()
            }
        };
        publisher.publish(&batch).await;
        batch.clear();
        if stop {
            publisher.drain(&mut queued, &mut batch).await;
            return;
        }
        publisher.settle().await;
    }
}
