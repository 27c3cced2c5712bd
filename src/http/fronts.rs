//! The serving threads: a current-thread runtime each, every listener
//! accepted on all of them, so a connection and its requests live on one
//! thread from accept to close. The multi-thread runtime handed work
//! between its threads at every wake-up; the profile put a quarter of a
//! cached check there (BENCHMARKS.md, "Against the floor").
//!
//! Each thread accepts on its own duplicate of the listener's socket (one
//! port, one bind: a second server on the same port still fails to start,
//! which `SO_REUSEPORT` would hide). I/O a request opens on a thread (a
//! database connection, say) is driven by that thread's runtime wherever it
//! is used later, so every thread runs until the `Fronts` is dropped, after
//! the database pool is closed.

use std::future::Future;
use std::io;

use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The serving threads; dropping it stops them (whatever they still run is
/// dropped with their runtimes).
pub struct Fronts {
    runtimes: Vec<Handle>,
    /// Dropped to release the threads.
    _release: watch::Sender<()>,
}

impl std::fmt::Debug for Fronts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fronts")
            .field("threads", &self.runtimes.len())
            .finish()
    }
}

impl Fronts {
    /// Starts `threads` serving threads (at least one).
    pub fn start(threads: usize) -> io::Result<Fronts> {
        let (release, released) = watch::channel(());
        let mut runtimes = Vec::with_capacity(threads.max(1));
        for i in 0..threads.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtimes.push(runtime.handle().clone());
            let mut released = released.clone();
            std::thread::Builder::new()
                .name(format!("authnzd-serve-{i}"))
                .spawn(move || {
                    // Err once the sender is dropped: the release.
                    runtime.block_on(async move { while released.changed().await.is_ok() {} });
                })?;
        }
        Ok(Fronts {
            runtimes,
            _release: release,
        })
    }

    pub fn threads(&self) -> usize {
        self.runtimes.len()
    }

    /// Accepts on `listener` from every thread: `serve` is given each
    /// thread's copy and its future runs there. The handle (on the calling
    /// runtime) resolves once every thread's future has.
    pub fn serve<S, Fut>(&self, listener: tokio::net::TcpListener, serve: S) -> io::Result<JoinHandle<()>>
    where
        S: Fn(tokio::net::TcpListener) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = listener.into_std()?;
        let mut served = Vec::with_capacity(self.runtimes.len());
        for runtime in &self.runtimes {
            let copy = listener.try_clone()?;
            // Registering with a runtime's I/O driver needs its context.
            let copy = {
                let _in = runtime.enter();
                tokio::net::TcpListener::from_std(copy)?
            };
            served.push(runtime.spawn(serve(copy)));
        }
        drop(listener);
        Ok(tokio::spawn(async move {
            for s in served {
                let _ = s.await;
            }
        }))
    }
}
