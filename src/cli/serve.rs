//! `serve` and `migrate`.

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
