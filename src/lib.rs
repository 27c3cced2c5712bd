//! authnzd: an authentication and authorization server speaking
//! authnzerver's encrypted RPC protocol.
//!
//! `Server::start(config)` is what the binary and the integration tests run.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub mod actions;
pub mod app;
pub mod cache;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod envelope;
pub mod http;
pub mod import;
pub mod instances;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod params;
pub mod pii;
pub mod policy;
pub mod secret;
pub mod security;
pub mod setup;
pub mod store;
pub mod timefmt;
pub mod tls;
pub mod waits;

use crate::app::App;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::envelope::Envelope;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs `chore` now and then every `interval`, until aborted.
fn every<F, Fut>(interval: Duration, chore: F) -> JoinHandle<()>
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

/// A listener on `at` and the address it got (port 0 picks one).
async fn bind(at: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let bound = |source| StartError::Bind { addr: at, source };
    let listener = TcpListener::bind(at).await.map_err(bound)?;
    let addr = listener.local_addr().map_err(bound)?;
    Ok((listener, addr))
}

/// How often a SQLite WAL is checkpointed and started over.
const WAL_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);

/// How often the access-token keys are reloaded and their age checked.
const ACCESS_KEY_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// The values `/metrics` reads at scrape time.
fn samples(app: &App) -> metrics::Samples {
    use std::sync::atomic::Ordering::Relaxed;
    let (cache_hits, cache_misses) = app.sessions.hits_and_misses();
    let (db_pool_size, db_pool_idle) = store::pool_stats(&app.db);
    let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
    metrics::Samples {
        hash_workers_busy: n(app.hasher.busy()),
        hash_queue_depth: n(app.hasher.queued()),
        cache_hits,
        cache_misses,
        mail_sent: app.mailer.counters.sent.load(Relaxed),
        mail_failed: app.mailer.counters.failed.load(Relaxed),
        sms_sent: app.sms.counters.sent.load(Relaxed),
        sms_failed: app.sms.counters.failed.load(Relaxed),
        db_pool_size,
        db_pool_idle,
    }
}

/// How often sessions long expired are deleted (and once at start-up).
const SESSION_PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

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
    Tls(#[from] tls::TlsError),
    #[error("authnzerver database: {0}")]
    Import(#[from] import::ImportError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Facts about a start worth telling the operator.
#[derive(Debug, Default, Clone)]
pub struct StartReport {
    /// A key file this start created.
    pub created_key_file: Option<PathBuf>,
    /// Where generated superuser credentials were written.
    pub superuser_credentials: Option<PathBuf>,
    /// An authnzerver database this start converted in place.
    pub converted: Option<import::Summary>,
}

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
        let config = app.config.clone();
        let tls = match (&config.server.tls_cert_file, &config.server.tls_key_file) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
            _ => None,
        };
        let limits =
            security::rate_limit::Limits::parse(&config.limits.rate_limits, dispatch::is_request)
                .map_err(|e| config::ConfigError::Invalid {
                    key: "rate_limits",
                    problem: e.to_string(),
                })?
                .map(|l| Arc::new(security::rate_limit::RateLimits::new(&l, clock.clone())));
        let mut background = vec![every(SESSION_PRUNE_INTERVAL, {
            let app = app.clone();
            move || {
                let app = app.clone();
                async move {
                    if let Err(e) = actions::session::prune_expired(&app).await {
                        tracing::warn!(error = %e, "expired sessions not pruned");
                    }
                    if let Err(e) = actions::pubkey::prune_challenges(&app).await {
                        tracing::warn!(error = %e, "old pubkey challenges not pruned");
                    }
                    if let Err(e) = actions::token::housekeeping(&app).await {
                        tracing::warn!(error = %e, "expired refresh tokens not pruned");
                    }
                    if let Err(e) = actions::audit::prune(&app).await {
                        tracing::warn!(error = %e, "old audit events not pruned");
                    }
                }
            }
        })];
        background.extend(instances::share(&app));
        if config::sqlite_path(&config.database.database_url).is_some() {
            background.push(every(WAL_CHECKPOINT_INTERVAL, {
                let app = app.clone();
                move || {
                    let app = app.clone();
                    async move {
                        if let Err(e) = store::checkpoint(&app.db).await {
                            tracing::warn!(error = %e, "SQLite WAL not checkpointed");
                        }
                    }
                }
            }));
        }
        if let Some(l) = limits.clone() {
            background.push(every(Duration::from_secs(5), move || {
                l.sweep();
                std::future::ready(())
            }));
        }
        let rpc = Arc::new(http::rpc::Rpc {
            app: app.clone(),
            // Wire freshness follows the real clock: a test that moves the
            // domain clock must not make every request look expired.
            envelope: Envelope::new(
                ring,
                config.server.request_ttl,
                config.server.replay_cache_entries,
                Arc::new(SystemClock),
            ),
            dispatcher: dispatch::Dispatcher::new(limits),
            max_body_bytes: config.server.max_body_bytes,
            body_read_timeout: Duration::from_secs(config.server.body_read_timeout),
            require_client_ip: config.rate_limiting(),
        });
        let ping_db = app.db.clone();
        let ops = Arc::new(http::ops::Ops {
            version: VERSION,
            database_ping: Box::new(move || {
                let db = ping_db.clone();
                Box::pin(async move { store::ping(&db).await })
            }),
            delivery: {
                let app = app.clone();
                Box::new(move || {
                    serde_json::json!({
                        "mail": app.mailer.counters.snapshot(),
                        "sms": app.sms.counters.snapshot(),
                    })
                })
            },
            metrics: {
                let app = Arc::downgrade(&app);
                Box::new(move || {
                    app.upgrade()
                        .map(|a| a.metrics.render())
                        .unwrap_or_default()
                })
            },
        });
        background.push(every(ACCESS_KEY_CHECK_INTERVAL, {
            let app = app.clone();
            move || {
                let app = app.clone();
                async move {
                    if let Err(e) = actions::token::rotate_keys_when_due(&app).await {
                        tracing::warn!(error = %e, "access-token keys not reloaded");
                    }
                }
            }
        }));
        let gateway_addr = config.gateway.gateway_addr()?;
        let gateway = Arc::new(http::gateway::Gateway {
            app: app.clone(),
            cookie_name: config.gateway.session_cookie_name.clone(),
            login_url: config.gateway.login_url()?,
            domains: config.gateway.domains(),
            remote_headers: config.gateway.forward_auth_remote_headers,
            limiter: u32::try_from(config.gateway.gateway_rate_limit)
                .ok()
                .filter(|n| *n > 0)
                .map(|n| security::rate_limit::PerClient::new(n, clock.clone())),
            // Shorter than the time a retired key stays published.
            jwks_max_age: (config.tokens.access_token_ttl / 2).min(300),
        });
        background.push(every(Duration::from_secs(5), {
            let gateway = gateway.clone();
            move || {
                gateway.sweep();
                std::future::ready(())
            }
        }));
        let limits = http::Limits {
            header_read_timeout: Duration::from_secs(config.server.header_read_timeout),
            drain_timeout: Duration::from_secs(config.server.drain_timeout),
            max_connections: config.connection_limit(),
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let stopping = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        let mut gateway_task = None;
        let on_rpc = match gateway_addr {
            Some(at) => {
                let (listener, at) = bind(at).await?;
                let routes = http::gateway_routes(gateway, ops.clone());
                gateway_task = Some((
                    at,
                    tokio::spawn(http::serve(
                        listener,
                        routes,
                        limits,
                        tls.clone(),
                        app.metrics.transport.clone(),
                        stopping(),
                    )),
                ));
                tracing::info!(addr = %at, "forward-auth and JWKS listening");
                None
            }
            None => Some(gateway),
        };
        app.metrics.set_source({
            let app = Arc::downgrade(&app);
            move || app.upgrade().map(|a| samples(&a)).unwrap_or_default()
        });
        let on_rpc_port = config.ops.metrics && config.ops.metrics_listen.is_none();
        let routes = http::routes(
            rpc,
            ops.clone(),
            on_rpc,
            config.allowed_host_list(),
            on_rpc_port,
        );

        let (listener, addr) =
            bind(SocketAddr::new(config.server.listen, config.server.port)).await?;
        let mut metrics_task = None;
        let mut metrics_addr = None;
        if let (true, Some(at)) = (config.ops.metrics, config.ops.metrics_listen) {
            let (listener, at) = bind(at).await?;
            metrics_task = Some(tokio::spawn(http::serve(
                listener,
                http::metrics_routes(ops),
                limits,
                None,
                Arc::new(metrics::Transport::default()),
                stopping(),
            )));
            metrics_addr = Some(at);
            tracing::info!(addr = %at, "metrics listening");
        }
        let https = tls.is_some();
        let transport = app.metrics.transport.clone();
        let task = tokio::spawn(http::serve(
            listener,
            routes,
            limits,
            tls,
            transport,
            stopping(),
        ));
        tracing::info!(%addr, https, version = VERSION, "authnzd listening");
        Ok(Running {
            addr,
            report,
            gateway_addr: gateway_task.as_ref().map(|(at, _)| *at),
            metrics_addr,
            app,
            https,
            stop,
            task,
            gateway_task: gateway_task.map(|(_, t)| t),
            metrics_task,
            background,
        })
    }
}

/// What serving and the operator's commands (`authnzd user …`) both work
/// on: the application state, the key ring, and what start-up did.
pub struct Opened {
    pub app: Arc<App>,
    pub ring: envelope::KeyRing,
    pub report: StartReport,
}

/// Everything `serve` builds before it listens: the permissions policy, the
/// mail and SMS senders, the key ring (a missing key file is created), the
/// migrated and (when empty) seeded database, the hashing pool, the password
/// rules and the server's signing key.
pub async fn open(config: Config, clock: SharedClock) -> Result<Opened, StartError> {
    tls::install_provider();
    let config = Arc::new(config);
    let policy = setup::permissions(&config)?;
    let (mailer, sms) = setup::notifiers(&config)?;
    let (ring, created_key_file) = keys::load(&config)?;
    let db = store::connect(&config).await?;
    let sqlite_file = config::sqlite_path(&config.database.database_url);
    let converted =
        import::convert_in_place(&db, sqlite_file.as_deref(), clock.now().naive_utc()).await?;
    if let Some(summary) = &converted {
        tracing::warn!(%summary, "converted an authnzerver database in place");
    }
    store::migrate(&db).await?;
    let hasher = setup::password_hasher(&config);
    let superuser_credentials = setup::seed_if_empty(&config, &db, &hasher, &clock).await?;
    let pii = setup::pii(&config).map_err(setup::SetupError::from)?;
    let dummy_hash = setup::dummy_hash(&hasher).await?;
    let passwords = setup::password_rules(&config)?;
    let seals = security::server_key::Seals::of(&ring);
    let server_key = security::server_key::load_or_create(
        &db,
        &seals,
        security::server_key::PAYLOAD_KEY,
        clock.now().naive_utc(),
    )
    .await?;
    let publish_for = security::jwt::publish_retired_for(config.tokens.access_token_ttl);
    let access_keys =
        security::jwt::load(&db, &seals, clock.now().naive_utc(), publish_for).await?;
    let app = Arc::new(App::new(app::Parts {
        config,
        db,
        clock,
        hasher,
        dummy_hash,
        passwords,
        pii,
        policy,
        mailer,
        sms,
        code_key: secret::SecretBox::new(Box::new(ring.derive("one-time codes"))),
        older_code_keys: ring
            .derive_each("one-time codes")
            .into_iter()
            .skip(1)
            .map(|k| secret::SecretBox::new(Box::new(k)))
            .collect(),
        totp_keys: ring
            .derive_each("totp secrets")
            .into_iter()
            .map(|k| secret::SecretBox::new(Box::new(k)))
            .collect(),
        server_key,
        access_keys,
        seals,
    }));
    Ok(Opened {
        app,
        ring,
        report: StartReport {
            converted,
            created_key_file,
            superuser_credentials,
        },
    })
}

impl Running {
    /// `http://addr/` (or `https://`), the URL clients post to.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// Stops accepting, drains in-flight requests up to the drain deadline,
    /// closes the database pool.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        for t in [self.gateway_task.as_mut(), self.metrics_task.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = t.await;
        }
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
