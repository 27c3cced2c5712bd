//! `serve`, `migrate`, `rotate-token-key` and `import-authnzerver`.

use authnzd::config::{Config, LogFormat};
use authnzd::{Server, store};
use sd_notify::NotifyState;

use super::CliError;

pub async fn migrate(config: Config) -> Result<(), CliError> {
    let db = store::connect(&config)
        .await
        .map_err(|e| CliError::Serve(format!("database: {e}")))?;
    store::migrate(&db)
        .await
        .map_err(|e| CliError::Serve(format!("migration: {e}")))?;
    eprintln!("authnzd: migrations applied");
    Ok(())
}

/// Replaces the access-token signing key now (running servers sign with it
/// within a minute).
pub async fn rotate_token_key(config: Config) -> Result<(), CliError> {
    let fail = CliError::Serve;
    let (ring, created) = authnzd::keys::load(&config).map_err(|e| fail(e.to_string()))?;
    if let Some(path) = created {
        // A key made now would seal the new key where no server can open it.
        let _ = std::fs::remove_file(&path);
        return Err(fail(
            "no Fernet key configured: give the servers' key (secret or key_file)".into(),
        ));
    }
    let db = store::connect(&config)
        .await
        .map_err(|e| fail(format!("database: {e}")))?;
    store::migrate(&db)
        .await
        .map_err(|e| fail(format!("migration: {e}")))?;
    let seals = authnzd::crypto::Sealer::of(&ring, authnzd::crypto::Label::ServerKeys);
    let now = chrono::Utc::now().naive_utc();
    let replace = store::signing_keys::Replace::Any;
    authnzd::security::jwt::rotate(&db, &seals, now, replace)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let keys = authnzd::security::jwt::load(&db, &seals, now, chrono::Duration::zero())
        .await
        .map_err(|e| fail(e.to_string()))?;
    eprintln!("authnzd: access-token key rotated; servers sign with it within a minute ({keys:?})");
    Ok(())
}

/// Copies an authnzerver database into the configured one (or, with
/// `dry_run`, counts what it would copy).
pub async fn import_authnzerver(config: Config, from: &str, dry_run: bool) -> Result<(), CliError> {
    let fail = CliError::Serve;
    let mut source = config.clone();
    source.database.database_url = authnzd::config::normalised_database_url(from)
        .ok_or_else(|| {
            fail("--from: must start with sqlite:, postgres://, postgresql:// or mysql://".into())
        })?
        .replace("mode=rwc", "mode=rw");
    if let Some(file) = authnzd::config::sqlite_path(&source.database.database_url)
        && !file.exists()
    {
        return Err(fail(format!("--from: {} does not exist", file.display())));
    }
    let from_db = store::connect(&source)
        .await
        .map_err(|e| fail(format!("--from: {e}")))?;
    let to_db = store::connect(&config)
        .await
        .map_err(|e| fail(format!("database: {e}")))?;
    if !dry_run {
        store::migrate(&to_db)
            .await
            .map_err(|e| fail(format!("migration: {e}")))?;
    }
    let now = chrono::Utc::now().naive_utc();
    let summary = authnzd::import::import(&from_db, &to_db, dry_run, now)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let verb = if dry_run { "would import" } else { "imported" };
    println!("authnzd: {verb} {summary}");
    Ok(())
}

pub async fn serve(config: Config) -> Result<(), CliError> {
    let json_logs = config.logging.log_format == LogFormat::Json;
    let mut running = Server::start(config).await?;
    super::user::tell_report(&running.report);
    if !json_logs {
        eprintln!("authnzd: listening on {}", running.url());
    }
    // Listened for before READY=1: systemd may stop us right after it.
    let stop = shutdown_signal();
    // Every listener is bound by now: units ordered after ours may start.
    let status = format!("listening on {}", running.url());
    tell_service_manager(&[NotifyState::Ready, NotifyState::Status(&status)]);
    tokio::select! {
        () = stop => {}
        () = running.wait() => return Err(CliError::Serve("server stopped unexpectedly".into())),
    }
    tell_service_manager(&[NotifyState::Stopping]);
    running.shutdown().await;
    Ok(())
}

/// Tells systemd (`Type=notify`) where the service is; nothing when
/// `NOTIFY_SOCKET` is unset (not started by systemd). A failed notice is
/// logged, not fatal: systemd then times the start out on its own.
fn tell_service_manager(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "could not notify the service manager");
    }
}

/// SIGTERM or SIGINT, caught from this call on (not from the first poll):
/// one that comes before the select drains the server rather than kill it.
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
