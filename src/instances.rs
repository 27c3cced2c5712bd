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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::DbErr;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::cache::Invalidation;
use crate::store::invalidation::{self, Heard};

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
/// How often the log is read.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Rows read in one statement, and statements per read at most (a backlog
/// larger than that is read on the next ones).
const PAGE: u64 = 256;
const PAGES: usize = 64;
/// How long an id skipped over is read again: a row whose transaction
/// took its id and committed later than a higher one (sequences,
/// interleaved auto-increment) shows up well within this.
const GAP_KEEP: Duration = Duration::from_secs(10);
/// Ids skipped over tracked at most; past it the oldest are forgotten and
/// the cache dropped, as one of them might have been missed.
const MAX_GAPS: usize = 1024;
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

fn new_origin() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Writes this process's invalidations to the log.
struct Publisher {
    app: Arc<App>,
    origin: String,
    /// Some invalidations were not delivered (why): "drop everything" is
    /// owed until it is written.
    lost: Option<Undelivered>,
}

impl Publisher {
    fn new(app: Arc<App>, origin: String) -> Publisher {
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

    /// Owes "drop everything" for invalidations the outbox had no room
    /// for, and writes what is owed (kept owed when it cannot be written
    /// yet: the next call tries again).
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
async fn publishing(
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

/// Reads the log every `POLL_INTERVAL` until aborted.
async fn reading(app: Arc<App>, origin: String, cursor: Option<Cursor>) {
    let mut reader = Reader {
        app,
        origin,
        cursor,
        failing: false,
    };
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match reader.poll().await {
            Ok(()) => reader.failing = false,
            Err(e) => {
                if !reader.failing {
                    tracing::warn!(error = %e, "cache invalidation log not read");
                }
                reader.failing = true;
            }
        }
    }
}

struct Reader {
    app: Arc<App>,
    origin: String,
    /// Where reading stands; `None` until the log could be read.
    cursor: Option<Cursor>,
    /// The last read failed (warned once per outage; reading resumes where
    /// it stood, and `Cursor::check` tells whether rows were pruned since).
    failing: bool,
}

impl Reader {
    async fn poll(&mut self) -> Result<(), DbErr> {
        let db = &self.app.db;
        let (lo, hi) = invalidation::bounds(db).await?;
        let now = Instant::now();
        let Some(cursor) = &mut self.cursor else {
            // The log could not be read at start-up: start at its end now,
            // dropping whatever was cached meanwhile.
            flush(&self.app, "the log could not be read at start-up");
            self.cursor = Some(Cursor::new(hi.unwrap_or(0)));
            return Ok(());
        };
        match cursor.check(lo, hi) {
            Standing::Current => {}
            Standing::Behind => {
                flush(&self.app, "rows not read yet were pruned from the log");
            }
            Standing::Restarted => {
                flush(&self.app, "the log's ids went back (emptied or restored)");
            }
        }
        let newest = hi.unwrap_or(0);
        for _ in 0..PAGES {
            if newest <= cursor.last() && !cursor.has_gaps() {
                break;
            }
            let missing = cursor.missing();
            let rows = invalidation::read(db, cursor.last(), &missing, PAGE).await?;
            let full = u64::try_from(rows.len()).unwrap_or(u64::MAX) >= PAGE;
            let before = cursor.last();
            for row in rows {
                if !cursor.saw(row.id, now) || row.origin == self.origin {
                    continue;
                }
                match Invalidation::decode(&row.message) {
                    Some(what) => {
                        self.app.sessions.apply(what).await;
                        self.app.metrics.invalidations.applied.inc();
                    }
                    // A newer version's message: drop everything rather
                    // than guess.
                    None => flush(&self.app, "an invalidation this version does not know"),
                }
            }
            if cursor.take_overflowed() {
                flush(&self.app, "too many ids missing from the log to track");
            }
            if !full || cursor.last() == before {
                break;
            }
        }
        cursor.expire(now);
        Ok(())
    }
}

fn flush(app: &App, why: &str) {
    tracing::info!(why, "session cache flushed");
    app.sessions.flush();
    app.metrics.invalidations.flushes.inc();
}

/// How a reader stands against the log's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Current,
    /// Rows past the last one read were pruned before they were read.
    Behind,
    /// The log's highest id is below the last one read.
    Restarted,
}

/// Where a reader of the log stands: the highest id read, and the ids
/// below it not read yet (skipped over, perhaps committing late), with
/// when each was first missed.
#[derive(Debug, Clone)]
pub struct Cursor {
    last: i64,
    gaps: BTreeMap<i64, Instant>,
    overflowed: bool,
}

impl Cursor {
    /// A reader that has read everything up to `last`.
    pub fn new(last: i64) -> Cursor {
        Cursor {
            last,
            gaps: BTreeMap::new(),
            overflowed: false,
        }
    }

    /// The highest id read.
    pub fn last(&self) -> i64 {
        self.last
    }

    pub fn has_gaps(&self) -> bool {
        !self.gaps.is_empty()
    }

    /// The ids below `last` to read again.
    pub fn missing(&self) -> Vec<i64> {
        self.gaps.keys().copied().collect()
    }

    /// Records that row `id` was read at `now`; whether it is new to this
    /// reader (not a row read before).
    pub fn saw(&mut self, id: i64, now: Instant) -> bool {
        if id <= self.last {
            return self.gaps.remove(&id).is_some();
        }
        let skipped = id.saturating_sub(self.last).saturating_sub(1);
        if skipped > MAX_GAPS as i64 {
            // A jump no late commit explains (a sequence moved by hand):
            // not tracked, but not trusted either.
            self.overflowed = true;
        } else {
            for g in self.last.saturating_add(1)..id {
                self.gaps.insert(g, now);
            }
            while self.gaps.len() > MAX_GAPS {
                self.gaps.pop_first();
                self.overflowed = true;
            }
        }
        self.last = id;
        true
    }

    /// Forgets ids missing for longer than `GAP_KEEP`: never committed
    /// (a failed insert, a rollback), not late.
    pub fn expire(&mut self, now: Instant) {
        self.gaps
            .retain(|_, since| now.saturating_duration_since(*since) < GAP_KEEP);
    }

    /// Whether ids were forgotten since the last call while they could
    /// still have committed.
    pub fn take_overflowed(&mut self) -> bool {
        std::mem::take(&mut self.overflowed)
    }

    /// Compares with the lowest and highest ids in the log, and moves past
    /// what can no longer be read.
    pub fn check(&mut self, lo: Option<i64>, hi: Option<i64>) -> Standing {
        let hi = hi.unwrap_or(0);
        if hi < self.last {
            *self = Cursor::new(hi);
            return Standing::Restarted;
        }
        let Some(lo) = lo else {
            return Standing::Current;
        };
        // Ids below the lowest row left are gone (pruned or never there).
        self.gaps.retain(|id, _| *id >= lo);
        if lo > self.last.saturating_add(1) {
            self.last = lo - 1;
            return Standing::Behind;
        }
        Standing::Current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_order_leave_no_gaps() {
        let now = Instant::now();
        let mut c = Cursor::new(10);
        for id in 11..=20 {
            assert!(c.saw(id, now));
        }
        assert_eq!(c.last(), 20);
        assert!(c.missing().is_empty());
        assert!(!c.saw(15, now), "a row read before is not new");
    }

    #[test]
    fn a_row_committing_after_a_higher_one_is_read_once_it_appears() {
        let now = Instant::now();
        let mut c = Cursor::new(10);
        assert!(c.saw(11, now));
        // 12 and 13 took their ids but had not committed when 14 was read.
        assert!(c.saw(14, now));
        assert_eq!(c.missing(), vec![12, 13]);
        let later = now + Duration::from_secs(3);
        c.expire(later);
        assert_eq!(c.missing(), vec![12, 13], "still within GAP_KEEP");
        assert!(c.saw(13, later), "13 committed late: new");
        assert!(!c.saw(13, later), "and only once");
        assert_eq!(c.missing(), vec![12]);
        assert_eq!(c.last(), 14);
    }

    #[test]
    fn ids_never_committed_are_forgotten_after_gap_keep() {
        let now = Instant::now();
        let mut c = Cursor::new(0);
        assert!(c.saw(5, now));
        assert_eq!(c.missing(), vec![1, 2, 3, 4]);
        assert!(c.saw(8, now + Duration::from_secs(6)));
        c.expire(now + GAP_KEEP);
        assert_eq!(c.missing(), vec![6, 7], "the older gaps expired");
        c.expire(now + Duration::from_secs(6) + GAP_KEEP);
        assert!(c.missing().is_empty());
        assert!(!c.take_overflowed(), "expiry is not an overflow");
    }

    #[test]
    fn too_many_gaps_are_reported_not_grown_without_bound() {
        let now = Instant::now();
        let mut c = Cursor::new(0);
        // Every other id missing, as with an auto-increment step of 2.
        let mut id = 0;
        for _ in 0..MAX_GAPS {
            id += 2;
            assert!(c.saw(id, now));
        }
        assert!(!c.take_overflowed());
        assert_eq!(c.missing().len(), MAX_GAPS);
        assert!(c.saw(id + 2, now));
        assert!(c.take_overflowed(), "a gap had to be forgotten early");
        assert_eq!(c.missing().len(), MAX_GAPS);
        assert!(!c.take_overflowed(), "reported once");

        // A jump by more than can be tracked: reported, not allocated.
        let mut c = Cursor::new(1);
        assert!(c.saw(i64::MAX, now));
        assert!(c.take_overflowed());
        assert!(c.missing().is_empty());
        assert_eq!(c.last(), i64::MAX);
    }

    #[test]
    fn the_log_s_bounds_tell_a_reader_that_fell_behind_or_a_log_that_went_back() {
        let now = Instant::now();
        let mut c = Cursor::new(10);
        assert_eq!(c.check(Some(3), Some(10)), Standing::Current);
        assert_eq!(c.check(Some(11), Some(12)), Standing::Current);
        assert_eq!(c.check(None, None), Standing::Restarted, "emptied");
        assert_eq!(c.last(), 0);

        let mut c = Cursor::new(10);
        assert_eq!(
            c.check(Some(40), Some(50)),
            Standing::Behind,
            "11 to 39 pruned unread"
        );
        assert_eq!(c.last(), 39, "reads on from what is left");
        assert!(c.saw(40, now));

        // Gaps below the lowest row left cannot be read any more.
        let mut c = Cursor::new(10);
        assert!(c.saw(13, now));
        assert_eq!(c.check(Some(12), Some(13)), Standing::Current);
        assert_eq!(c.missing(), vec![12]);
    }
}
