//! What a server runs in the background: the hourly pruning, the timing of
//! stored password-hash parameters, the pruning of the cache-invalidation
//! log (the sharing itself is `instances::share`), the SQLite checkpoint,
//! rate-limit sweeping and access-key rotation.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::App;
use crate::security::rate_limit::RateLimits;
use crate::{actions, config, instances, store};

/// How often whatever has ended is deleted (`actions::chores::hourly`;
/// once at start-up too).
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// How often a SQLite WAL is checkpointed and started over.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);
/// How often the access-token keys are reloaded and their age checked.
const ACCESS_KEY_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// How often idle keys of the rate limiters are forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Runs `chore` now and then every `interval`, until aborted.
pub(super) fn every<F, Fut>(interval: Duration, chore: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            chore().await;
        }
    })
}

/// Runs `chore` with the app every `interval`.
fn every_with<F, Fut>(app: &Arc<App>, interval: Duration, chore: F) -> JoinHandle<()>
where
    F: Fn(Arc<App>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let app = app.clone();
    every(interval, move || chore(app.clone()))
}

/// Starts the chores of `app`; the handles stop them.
pub(super) fn start(app: &Arc<App>, limits: Option<Arc<RateLimits>>) -> Vec<JoinHandle<()>> {
    let mut background = vec![
        every_with(app, PRUNE_INTERVAL, |app| async move {
            actions::chores::hourly(&app).await;
        }),
        tokio::spawn({
            let app = app.clone();
            async move {
                if let Err(e) = actions::password_check::calibrate_hashing(&app).await {
                    tracing::warn!(error = %e, "stored password-hash parameters not timed");
                }
            }
        }),
        every_with(app, ACCESS_KEY_CHECK_INTERVAL, |app| async move {
            if let Err(e) = actions::token::rotate_keys_when_due(&app).await {
                tracing::warn!(error = %e, "access-token keys not reloaded");
            }
        }),
    ];
    background.push(every_with(
        app,
        instances::PRUNE_INTERVAL,
        |app| async move { instances::prune(&app).await },
    ));
    if config::sqlite_path(&app.config.database.database_url).is_some() {
        background.push(every_with(app, WAL_CHECKPOINT_INTERVAL, |app| async move {
            if let Err(e) = store::checkpoint(&app.db).await {
                tracing::warn!(error = %e, "SQLite WAL not checkpointed");
            }
        }));
    }
    if let Some(l) = limits {
        background.push(every(SWEEP_INTERVAL, move || {
            l.sweep();
            std::future::ready(())
        }));
    }
    background
}
