//! `serve`, `migrate` and `rotate-token-key`.

use authnzd::config::{Config, LogFormat};
use authnzd::{Server, store};

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
    let seals = authnzd::security::server_key::Seals::of(&ring);
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

pub async fn serve(config: Config) -> Result<(), CliError> {
    let json_logs = config.logging.log_format == LogFormat::Json;
    let mut running = Server::start(config).await?;
    super::user::tell_report(&running.report);
    if !json_logs {
        eprintln!("authnzd: listening on {}", running.url());
    }
    tokio::select! {
        () = shutdown_signal() => {}
        () = running.wait() => return Err(CliError::Serve("server stopped unexpectedly".into())),
    }
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
