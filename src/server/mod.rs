//! Starting and stopping a server: `open` assembles the application,
//! `chores` runs what runs in the background, `listeners` binds and serves.

mod chores;
mod listeners;
mod open;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;

pub use open::{Opened, StartReport, open};

use crate::app::App;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{self, Config};
use crate::{import, keys, security, setup, tls};

pub struct Server;

/// A running server. Dropping it does not stop it; call `shutdown`.
pub struct Running {
    pub addr: SocketAddr,
    pub report: StartReport,
    /// The separate forward-auth and JWKS listener, if configured.
    pub gateway_addr: Option<SocketAddr>,
    /// Where `GET /metrics` is served when `metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub app: Arc<App>,
    /// Whether the listener speaks HTTPS.
    pub https: bool,
    stop: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<()>,
    gateway_task: Option<JoinHandle<()>>,
    metrics_task: Option<JoinHandle<()>>,
    /// Periodic chores (session pruning, rate-limit sweeping).
    background: Vec<JoinHandle<()>>,
    /// Cache invalidations shared with other processes.
    sharing: crate::instances::Sharing,
}

impl Server {
    pub async fn start(config: Config) -> Result<Running, StartError> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As `start`, with a clock the caller controls (tests move time).
    pub async fn start_with_clock(
        config: Config,
        clock: SharedClock,
    ) -> Result<Running, StartError> {
        let Opened { app, ring, report } = open(config, clock.clone()).await?;
        let limits = security::rate_limit::Limits::parse(
            &app.config.limits.rate_limits,
            crate::rpc::is_request,
        )
        .map_err(|e| config::ConfigError::Invalid {
            key: "rate_limits",
            problem: e.to_string(),
        })?
        .map(|l| Arc::new(security::rate_limit::RateLimits::new(&l, clock.clone())));
        let sharing = crate::instances::share(&app).await;
        let mut background = chores::start(&app, limits.clone());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let served = listeners::start(&app, ring, limits, &clock, stopped, &mut background).await?;
        Ok(Running {
            addr: served.addr,
            report,
            gateway_addr: served.gateway.as_ref().map(|(at, _)| *at),
            metrics_addr: served.metrics.as_ref().map(|(at, _)| *at),
            app,
            https: served.https,
            stop,
            task: served.task,
            gateway_task: served.gateway.map(|(_, t)| t),
            metrics_task: served.metrics.map(|(_, t)| t),
            background,
            sharing,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Keys(#[from] keys::KeySourceError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Setup(#[from] setup::SetupError),
    #[error(transparent)]
    ServerKey(#[from] security::server_key::ServerKeyError),
    #[error(transparent)]
    AccessKeys(#[from] security::jwt::JwtError),
    #[error(transparent)]
    IdTokenKey(#[from] crate::oidc::keys::KeyError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("authnzerver database: {0}")]
    Import(#[from] import::ImportError),
    #[error("config key `redis_url`: {0}")]
    Redis(#[from] crate::cluster::SharedError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl Running {
    /// `http://addr/` (or `https://`), the URL clients post to.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// Stops accepting, drains in-flight requests up to the drain deadline,
    /// publishes the cache invalidations they made, closes the database
    /// pool.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        for t in [self.gateway_task.as_mut(), self.metrics_task.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = t.await;
        }
        self.sharing.finish().await;
        for chore in &self.background {
            chore.abort();
        }
        let _ = self.app.db.clone().close().await;
    }

    /// Resolves when the server stops on its own (it should not).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}
