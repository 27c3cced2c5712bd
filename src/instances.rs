//! Several processes on one PostgreSQL database: each tells the others of
//! its cache invalidations (`NOTIFY`) and applies theirs (`LISTEN`). The
//! SQL lives in `store::invalidation`; this is the plumbing between it and
//! the session cache.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::cache::Invalidation;
use crate::store::invalidation::{self, Heard};

/// Invalidations waiting to be sent, at most; past it the others fall back
/// on the TTL (and the sender warns).
const OUTBOX: usize = 10_000;
/// Invalidations sent in one statement, at most: a burst of logouts costs a
/// round trip per batch, not per logout.
const BATCH: usize = 64;

/// On PostgreSQL, the tasks that send this process's invalidations and apply
/// the others' (flushing the cache whenever the listener (re)connects, as
/// notifications sent while it was away are lost). Elsewhere none: entries
/// live `session_cache_ttl`.
pub fn share(app: &Arc<App>) -> Vec<JoinHandle<()>> {
    if !invalidation::supported(&app.db) {
        return Vec::new();
    }
    let origin = new_origin();
    let (outbox, mut sent) = mpsc::channel::<Invalidation>(OUTBOX);
    app.sessions.set_outbox(outbox);
    let publisher = {
        let (app, origin) = (app.clone(), origin.clone());
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while sent.recv_many(&mut batch, BATCH).await > 0 {
                send(&app, &origin, &batch).await;
                batch.clear();
            }
        })
    };
    let (heard_tx, mut heard) = mpsc::channel::<Heard>(1024);
    let listener = tokio::spawn(invalidation::listen(app.db.clone(), heard_tx));
    let applier = {
        let app = app.clone();
        tokio::spawn(async move {
            while let Some(h) = heard.recv().await {
                match h {
                    Heard::Connected => app.sessions.flush(),
                    Heard::Message(payload) => {
                        if let Some((from, what)) = payload.split_once('|')
                            && from != origin
                            && let Some(what) = Invalidation::decode(what)
                        {
                            app.sessions.apply(what).await;
                        }
                    }
                }
            }
        })
    };
    vec![publisher, listener, applier]
}

/// For a short-lived process (the operator's `authnzd user …`): collects
/// its invalidations; `Outgoing::send` tells the running servers before it
/// exits, so a lock by command is seen at once, not after the TTL.
pub struct Outgoing(Option<mpsc::Receiver<Invalidation>>);

impl Outgoing {
    pub fn collect(app: &App) -> Outgoing {
        if !invalidation::supported(&app.db) {
            return Outgoing(None);
        }
        let (outbox, sent) = mpsc::channel::<Invalidation>(OUTBOX);
        app.sessions.set_outbox(outbox);
        Outgoing(Some(sent))
    }

    pub async fn send(self, app: &App) {
        let Some(mut sent) = self.0 else { return };
        let origin = new_origin();
        let mut batch = Vec::with_capacity(BATCH);
        while let Ok(what) = sent.try_recv() {
            batch.push(what);
            if batch.len() == BATCH {
                send(app, &origin, &batch).await;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            send(app, &origin, &batch).await;
        }
    }
}

fn new_origin() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

async fn send(app: &App, origin: &str, batch: &[Invalidation]) {
    let payloads: Vec<String> = batch
        .iter()
        .map(|what| format!("{origin}|{}", what.encode()))
        .collect();
    if let Err(e) = invalidation::publish_all(&app.db, &payloads).await {
        tracing::warn!(error = %e, count = payloads.len(), "cache invalidations not published");
    }
}
