//! The accept loop: a connection cap, header-read and idle timeouts, the
//! drain deadline at shutdown; each connection served by hyper, `POST /`
//! straight to the RPC (`Direct`) and the rest through warp's routes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::Either;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower_service::Service;
use warp::Filter;
use warp::reply::Response;

use super::{Direct, Peer};

/// Limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client gets to send a request's headers, from the connection's
    /// start or the previous answer. Also how long a connection may go with
    /// no request in hand (silent, half an HTTP/2 preface, idle keep-alive,
    /// an answer the client does not read) before it is closed.
    pub header_read_timeout: Duration,
    pub drain_timeout: Duration,
    /// Connections served at once; at the cap `accept` is not called, so new
    /// connections wait in the kernel's backlog.
    pub max_connections: usize,
}

/// Whether a connection has a request in hand, and since when it has not.
struct Activity {
    busy: AtomicUsize,
    idle_since: parking_lot::Mutex<Instant>,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            busy: AtomicUsize::new(0),
            idle_since: parking_lot::Mutex::new(Instant::now()),
        })
    }

    /// When the connection has been idle for `idle`; `None` while busy.
    fn idle_deadline(&self, idle: Duration) -> Option<Instant> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(*self.idle_since.lock() + idle)
    }
}

/// Held while the service handles one request.
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: &Arc<Activity>) -> Busy {
        activity.busy.fetch_add(1, Ordering::AcqRel);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.0.idle_since.lock() = Instant::now();
        }
    }
}

/// Runs `conn` to its end, or drops it (closing the socket) once it has had
/// no request in hand for `idle`.
async fn run_connection<C, E>(conn: C, activity: Arc<Activity>, idle: Duration)
where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    let mut check = Instant::now() + idle;
    loop {
        tokio::select! {
            ended = &mut conn => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(check) => {
                match activity.idle_deadline(idle) {
                    Some(at) if at <= Instant::now() => {
                        tracing::debug!("idle connection closed");
                        return;
                    }
                    Some(at) => check = at,
                    None => check = Instant::now() + idle,
                }
            }
        }
    }
}

/// Counts one open connection until dropped.
struct Open(Arc<crate::metrics::Transport>);

impl Open {
    fn count(t: &Arc<crate::metrics::Transport>) -> Open {
        t.open.inc();
        Open(t.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.dec();
    }
}

/// How often reaching the connection cap is logged, at most.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Serves `routes` on `listener` (HTTPS when `tls` is given), counting its
/// connections in `transport`, until `shutdown` resolves, then stops
/// accepting, lets in-flight requests finish for up to the drain deadline,
/// and drops whatever is left (a stalled client cannot hold the process).
///
/// At most `limits.max_connections` connections are served at once: a
/// permit is taken before `accept` and moved into the connection's task, so
/// it comes back however the connection ends.
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    direct: Option<Arc<Direct>>,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    transport: Arc<crate::metrics::Transport>,
    shutdown: impl Future<Output = ()>,
) where
    F: Filter<Extract = (Response,), Error = Infallible> + Clone + Send + Sync + 'static,
    F::Future: Send,
{
    let service = warp::service(routes);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    let cap = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(cap));
    let mut slot: Option<OwnedSemaphorePermit> = None;
    let mut cap_warned: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        if slot.is_none() {
            slot = slots.clone().try_acquire_owned().ok();
            if slot.is_none() {
                transport.at_cap.inc();
            }
            if slot.is_none() && cap_warned.is_none_or(|at| at.elapsed() >= CAP_WARNING_EVERY) {
                tracing::warn!(
                    max_connections = cap,
                    "at the connection cap; new connections wait in the backlog"
                );
                cap_warned = Some(Instant::now());
            }
        }
        tokio::select! {
            // The semaphore is never closed.
            permit = slots.clone().acquire_owned(), if slot.is_none() => slot = permit.ok(),
            accepted = listener.accept(), if slot.is_some() => {
                let (stream, peer): (_, SocketAddr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(permit) = slot.take() else { continue };
                let _ = stream.set_nodelay(true);
                let activity = Activity::new();
                let svc = service.clone();
                let in_hand = activity.clone();
                let direct = direct.clone();
                let hyper_svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let busy = Busy::start(&in_hand);
                    let ours = direct.as_ref().and_then(|d| Some((d.clone(), d.takes(&req)?)));
                    let answer = match ours {
                        Some((d, length)) => Either::Left(async move {
                            Ok::<_, Infallible>(d.answer(length, req.into_body()).await)
                        }),
                        None => {
                            req.extensions_mut().insert(Peer(peer));
                            Either::Right(svc.clone().call(req))
                        }
                    };
                    async move {
                        let answer = answer.await;
                        drop(busy);
                        answer
                    }
                });
                let idle = limits.header_read_timeout;
                let watcher = graceful.watcher();
                let builder = builder.clone();
                let tls = tls.clone();
                let open = Open::count(&transport);
                conns.spawn(async move {
                    let _permit = permit;
                    let _open = open;
                    let Some(acceptor) = tls else {
                        let conn = builder.serve_connection(TokioIo::new(stream), hyper_svc);
                        run_connection(watcher.watch(conn), activity, idle).await;
                        return;
                    };
                    // The handshake gets the time a client gets for its headers.
                    match tokio::time::timeout(idle, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let conn = builder.serve_connection(TokioIo::new(stream), hyper_svc);
                            run_connection(watcher.watch(conn), activity, idle).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(open = conns.len(), "draining connections");
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            left = conns.len(),
            "drain deadline passed; closing remaining connections"
        );
    }
    conns.shutdown().await;
}
