//! The listeners of a server and what each serves: the RPC port (with
//! `/health`, and forward-auth, JWKS and metrics unless they have their
//! own), the gateway port, the metrics port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::StartError;
use super::chores::every;
use crate::app::App;
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::cluster::{Settings, Shared};
use crate::config::Fallback;
use crate::crypto::{KeyRing, Keyed, Label};
use crate::envelope::Envelope;
use crate::security::admission::{Admission, ClientLimit, SharedPolicy};
use crate::security::rate_limit::{PerClient, RateLimits};
use crate::{VERSION, http, metrics, rpc, store, tls};

/// What `start` serves: each listener's address and task.
pub(super) struct Served {
    pub addr: SocketAddr,
    pub https: bool,
    pub task: JoinHandle<()>,
    pub gateway: Option<(SocketAddr, JoinHandle<()>)>,
    pub metrics: Option<(SocketAddr, JoinHandle<()>)>,
}

/// A listener on `at` and the address it got (port 0 picks one).
async fn bind(at: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let bound = |source| StartError::Bind { addr: at, source };
    let listener = TcpListener::bind(at).await.map_err(bound)?;
    let addr = listener.local_addr().map_err(bound)?;
    Ok((listener, addr))
}

/// The values `/metrics` reads at scrape time.
fn samples(app: &App) -> metrics::Samples {
    use std::sync::atomic::Ordering::Relaxed;
    let (cache_hits, cache_misses) = app.sessions.hits_and_misses();
    let (db_pool_size, db_pool_idle) = store::pool_stats(&app.db);
    let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
    metrics::Samples {
        worker_threads: 0,
        hash_workers_busy: n(app.credentials.hasher.busy()),
        hash_queue_depth: n(app.credentials.hasher.queued()),
        hashes: app.credentials.hasher.runs(),
        cache_hits,
        cache_misses,
        mail_sent: app.notify.mailer.counters.sent.load(Relaxed),
        mail_failed: app.notify.mailer.counters.failed.load(Relaxed),
        sms_sent: app.notify.sms.counters.sent.load(Relaxed),
        sms_failed: app.notify.sms.counters.failed.load(Relaxed),
        db_pool_size,
        db_pool_idle,
        redis: None,
    }
}

/// `/health` and `/metrics`: what they read.
fn ops(app: &Arc<App>, shared: Option<Arc<Shared>>) -> Arc<http::ops::Ops> {
    let ping_db = app.db.clone();
    Arc::new(http::ops::Ops {
        version: VERSION,
        redis: shared.map(|redis| {
            http::ops::Checked::new(
                Box::new(move || {
                    let redis = redis.clone();
                    Box::pin(async move { redis.ping().await })
                        as futures_util::future::BoxFuture<'static, bool>
                }),
                http::ops::PING_WITHIN,
            )
        }),
        redis_required: {
            let r = &app.config.redis;
            r.redis_replay_fallback == Fallback::Refuse
                || (app.config.rate_limiting() && r.redis_limits_fallback == Fallback::Refuse)
        },
        database: http::ops::Checked::new(
            Box::new(move || {
                let db = ping_db.clone();
                Box::pin(async move { store::ping(&db).await })
            }),
            http::ops::PING_WITHIN,
        ),
        delivery: {
            let app = app.clone();
            Box::new(move || {
                let mut d = serde_json::Map::new();
                d.insert("mail".into(), app.notify.mailer.counters.snapshot());
                d.insert("sms".into(), app.notify.sms.counters.snapshot());
                serde_json::Value::Object(d)
            })
        },
        metrics: {
            let app = Arc::downgrade(app);
            Box::new(move || {
                app.upgrade()
                    .map(|a| a.metrics.render())
                    .unwrap_or_default()
            })
        },
    })
}

/// The portal's public base URL, when it is on.
fn portal_base(config: &crate::config::Config) -> Result<Option<url::Url>, StartError> {
    if !config.portal.portal {
        return Ok(None);
    }
    let fallback = format!("http://{}:{}/", config.server.listen, config.server.port);
    Ok(Some(config.portal.base_url(&fallback)?))
}

/// The sign-in portal, when it is on: the RPC's rate limits, the one
/// redirect rule.
async fn portal(
    app: &Arc<App>,
    admission: Arc<Admission>,
) -> Result<Option<Arc<http::portal::Portal>>, StartError> {
    let config = &app.config;
    let Some(base) = portal_base(config)? else {
        return Ok(None);
    };
    let redirects = config.gateway.redirect_rule().with_own_origin(&base);
    let default_redirect = match config.portal.portal_default_redirect.trim() {
        "" => base.join("account").map(String::from).unwrap_or_default(),
        d if redirects.allows(d) => d.to_owned(),
        _ => {
            return Err(crate::config::ConfigError::Invalid {
                key: "portal_default_redirect",
                problem: "must pass the redirect rule (an https URL on an allowed domain, or on the portal's origin)".into(),
            }
            .into());
        }
    };
    let brand = brand(&config.portal)?;
    let oidc = match config.oidc.oidc {
        false => None,
        true => Some(Arc::new(crate::oidc::Provider {
            app: app.clone(),
            issuer: base.as_str().trim_end_matches('/').to_owned(),
            key: crate::oidc::keys::load_or_create(&app.db, &app.keys.seals, app.now()).await?,
        })),
    };
    let domain = config.portal.session_cookie_domain.trim();
    Ok(Some(Arc::new(http::portal::Portal {
        app: app.clone(),
        admission,
        cookies: http::portal::Jar {
            session_name: config.gateway.session_cookie_name.clone(),
            secure: base.scheme() == "https",
            domain: (!domain.is_empty()).then(|| domain.to_owned()),
        },
        redirects,
        default_redirect,
        trusted_proxies: config.server.trusted_proxies()?,
        product: config.portal.portal_product_name.clone(),
        brand,
        oidc,
        base,
    })))
}

/// The operator's look, read once at start-up.
fn brand(c: &crate::config::PortalConfig) -> Result<http::portal::Brand, StartError> {
    let read = |key: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| crate::config::ConfigError::Invalid {
            key,
            problem: format!("cannot read {}: {e}", path.display()),
        })
    };
    let mut css = format!(":root {{ --accent: {}; }}\n", c.portal_accent_color);
    if let Some(path) = &c.portal_stylesheet_file {
        css.push_str(&String::from_utf8_lossy(&read(
            "portal_stylesheet_file",
            path,
        )?));
    }
    let logo = match &c.portal_logo_file {
        Some(path) => {
            let kind = crate::config::logo_type(path).unwrap_or("application/octet-stream");
            Some((read("portal_logo_file", path)?, kind))
        }
        None => None,
    };
    Ok(http::portal::Brand { css, logo })
}

/// Forward-auth and JWKS; its per-client limiter is swept in the
/// background.
fn gateway(
    app: &Arc<App>,
    clock: &SharedClock,
    shared: Option<&Arc<Shared>>,
    background: &mut Vec<JoinHandle<()>>,
) -> Result<Arc<http::gateway::Gateway>, StartError> {
    let config = &app.config;
    let portal = portal_base(config)?;
    // With the portal on, unauthenticated browsers go to its login page
    // unless another is configured, and may come back to its origin.
    let login_url = match (config.gateway.login_url()?, &portal) {
        (Some(url), _) => Some(url),
        (None, Some(base)) => base.join("login").ok(),
        (None, None) => None,
    };
    let mut redirects = config.gateway.redirect_rule();
    if let Some(base) = &portal {
        redirects = redirects.with_own_origin(base);
    }
    let gateway = Arc::new(http::gateway::Gateway {
        app: app.clone(),
        cookie_name: config.gateway.session_cookie_name.clone(),
        login_url,
        redirects,
        remote_headers: config.gateway.forward_auth_remote_headers,
        limiter: u32::try_from(config.gateway.gateway_rate_limit)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| {
                let fallback = config.redis.redis_limits_fallback;
                ClientLimit::new(
                    PerClient::new(n, clock.clone()),
                    shared.map(|r| (r.clone(), fallback)),
                )
            }),
        trusted_proxies: config.server.trusted_proxies()?,
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
    Ok(gateway)
}

/// Redis, when `redis_url` is set (connected lazily: a Redis that is down
/// at start fails requests as configured, not the start).
fn shared_state(
    config: &crate::config::Config,
    ring: &KeyRing,
) -> Result<Option<Arc<Shared>>, StartError> {
    let Some(url) = config.redis.url() else {
        return Ok(None);
    };
    let shared = Shared::connect(Settings {
        url,
        key_prefix: &config.redis.redis_key_prefix,
        timeout: Duration::from_millis(config.redis.redis_timeout_ms),
        keyed: Keyed::new(ring.derive(Label::SharedLimitKeys)),
    })?;
    Ok(Some(Arc::new(shared)))
}

/// Binds and serves every listener the configuration asks for, each
/// stopping (and draining) when `stopped` turns true.
pub(super) async fn start(
    app: &Arc<App>,
    ring: KeyRing,
    limits: Option<Arc<RateLimits>>,
    clock: &SharedClock,
    stopped: tokio::sync::watch::Receiver<bool>,
    background: &mut Vec<JoinHandle<()>>,
) -> Result<Served, StartError> {
    let config = app.config.clone();
    let tls = match (&config.server.tls_cert_file, &config.server.tls_key_file) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    let shared = shared_state(&config, &ring)?;
    let admission = Arc::new(Admission::new(
        limits,
        shared.clone().map(|redis| SharedPolicy {
            redis,
            request_ttl: config.server.request_ttl,
            replay_fallback: config.redis.redis_replay_fallback,
            limits_fallback: config.redis.redis_limits_fallback,
        }),
    ));
    let portal = portal(app, admission.clone()).await?;
    // Without Redis the replay memory is this process's: tokens from
    // before it started are refused, as it cannot know which it saw.
    let not_before = shared.is_none().then(|| SystemClock.unix());
    let rpc = Arc::new(http::rpc::Rpc {
        app: app.clone(),
        // Wire freshness follows the real clock: a test that moves the
        // domain clock must not make every request look expired.
        envelope: Envelope::new(
            ring,
            config.server.request_ttl,
            config.server.replay_cache_entries,
            Arc::new(SystemClock),
            not_before,
        ),
        dispatcher: rpc::Dispatcher::new(admission),
        max_body_bytes: config.server.max_body_bytes,
        body_read_timeout: Duration::from_secs(config.server.body_read_timeout),
        require_client_ip: config.rate_limiting(),
    });
    let ops = ops(app, shared.clone());
    let gateway_addr = config.gateway.gateway_addr()?;
    let gateway = gateway(app, clock, shared.as_ref(), background)?;
    let limits = http::Limits {
        header_read_timeout: Duration::from_secs(config.server.header_read_timeout),
        drain_timeout: Duration::from_secs(config.server.drain_timeout),
        max_connections: config.connection_limit(),
    };
    let stopping = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let mut gateway_served = None;
    let on_rpc = match gateway_addr {
        Some(at) => {
            let (listener, at) = bind(at).await?;
            let routes = http::gateway_routes(gateway, portal.clone(), ops.clone());
            let transport = app.metrics.transport.clone();
            let task = http::serve(
                listener,
                routes,
                None,
                limits,
                tls.clone(),
                transport,
                stopping(),
            );
            gateway_served = Some((at, tokio::spawn(task)));
            tracing::info!(addr = %at, "forward-auth and JWKS listening");
            None
        }
        None => Some((gateway, portal)),
    };
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    app.metrics.set_source({
        let app = Arc::downgrade(app);
        move || {
            let mut s = app.upgrade().map(|a| samples(&a)).unwrap_or_default();
            s.worker_threads = u64::try_from(workers).unwrap_or(u64::MAX);
            if let Some(r) = &shared {
                s.redis = Some((r.is_up(), r.failures()));
            }
            s
        }
    });
    let on_rpc_port = config.ops.metrics && config.ops.metrics_listen.is_none();
    let direct = Arc::new(http::Direct {
        rpc: rpc.clone(),
        allowed_hosts: config.allowed_host_list(),
    });
    let routes = http::routes(
        rpc,
        ops.clone(),
        on_rpc,
        config.allowed_host_list(),
        on_rpc_port,
    );
    let (listener, addr) = bind(SocketAddr::new(config.server.listen, config.server.port)).await?;
    let mut metrics_served = None;
    if let (true, Some(at)) = (config.ops.metrics, config.ops.metrics_listen) {
        let (listener, at) = bind(at).await?;
        let routes = http::metrics_routes(ops);
        let transport = Arc::new(metrics::Transport::default());
        let task = http::serve(listener, routes, None, limits, None, transport, stopping());
        metrics_served = Some((at, tokio::spawn(task)));
        tracing::info!(addr = %at, "metrics listening");
    }
    let https = tls.is_some();
    let transport = app.metrics.transport.clone();
    let task = tokio::spawn(http::serve(
        listener,
        routes,
        Some(direct),
        limits,
        tls,
        transport,
        stopping(),
    ));
    tracing::info!(%addr, https, version = VERSION, "authnzd listening");
    Ok(Served {
        addr,
        https,
        task,
        gateway: gateway_served,
        metrics: metrics_served,
    })
}
