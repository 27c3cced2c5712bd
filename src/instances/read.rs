//! Reading: the log past the last id read, applying what the other
//! processes wrote.

use std::sync::Arc;
use std::time::Instant;

use sea_orm::DbErr;

use super::{Cursor, POLL_INTERVAL, Standing};
use crate::app::App;
use crate::cache::Invalidation;
use crate::store::invalidation;

/// Rows read in one statement, and statements per read at most (a backlog
/// larger than that is read on the next ones).
const PAGE: u64 = 256;
const PAGES: usize = 64;

/// Reads the log every `POLL_INTERVAL` until aborted.
pub(super) async fn reading(app: Arc<App>, origin: String, cursor: Option<Cursor>) {
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
