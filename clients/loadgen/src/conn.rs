//! One kept-alive HTTP/1.1 connection per worker, on hyper's connection-level
//! client: no pool, no per-request URL parsing, the connection driven by the
//! worker's own task, so the load generator stays cheaper than the server.

use std::pin::Pin;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go: parsed once from `--url`.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host:port`, for connecting.
    authority: String,
    host: HeaderValue,
    rpc: Uri,
    health: Uri,
}

impl Target {
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let uri: Uri = url.parse().with_context(|| format!("--url {url}"))?;
        if uri.scheme_str() != Some("http") {
            bail!("--url {url}: only plain http:// is supported");
        }
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow!("--url {url}: no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        // `/health` beside the RPC path (authnzd and authnzerver both serve it).
        let base = path.trim_end_matches('/');
        Ok(Target {
            authority: format!("{}:{port}", authority.host()),
            host: HeaderValue::from_str(authority.as_str())?,
            rpc: path.parse()?,
            health: format!("{base}/health").parse()?,
        })
    }
}

type Connection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;
/// The request handle and the connection's I/O future.
type Link = (SendRequest<Full<Bytes>>, Pin<Box<Connection>>);

pub struct Conn {
    target: Target,
    /// The request handle and the connection's I/O future. The worker
    /// polls the I/O itself while it waits for an answer, rather than
    /// spawning it as a task: no cross-task wake-ups per request.
    link: Option<Link>,
}

/// An HTTP answer: status and whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Conn {
    pub async fn connect(target: &Target) -> anyhow::Result<Conn> {
        let mut conn = Conn {
            target: target.clone(),
            link: None,
        };
        conn.ensure().await?;
        Ok(conn)
    }

    /// (Re)connects if the server closed the connection (after an error
    /// status, or idle), so one failure costs one request, not the worker.
    async fn ensure(&mut self) -> anyhow::Result<()> {
        if let Some((_, io)) = self.link.as_mut() {
            // Poll the idle connection once: a hang-up shows now, before a
            // request is lost on it.
            let closed = tokio::select! {
                biased;
                _ = io.as_mut() => true,
                _ = std::future::ready(()) => false,
            };
            if closed {
                self.link = None;
            }
        }
        if self.link.is_none() {
            let stream = TcpStream::connect(&self.target.authority)
                .await
                .with_context(|| format!("connect {}", self.target.authority))?;
            stream.set_nodelay(true)?;
            let (sender, io) = http1::handshake(TokioIo::new(stream)).await?;
            self.link = Some((sender, Box::pin(io)));
        }
        Ok(())
    }

    /// POSTs an encrypted envelope to the RPC path.
    pub async fn post(&mut self, body: Bytes) -> anyhow::Result<Answer> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(self.target.rpc.clone())
            .header(HOST, self.target.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("text/plain"))
            .body(Full::new(body))?;
        self.send(req).await
    }

    /// `GET /health`.
    pub async fn health(&mut self) -> anyhow::Result<Answer> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(self.target.health.clone())
            .header(HOST, self.target.host.clone())
            .body(Full::new(Bytes::new()))?;
        self.send(req).await
    }

    async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<Answer> {
        self.ensure().await?;
        let Some((sender, io)) = self.link.as_mut() else {
            bail!("no connection");
        };
        let exchange = async {
            sender.ready().await?;
            let res = sender.send_request(req).await?;
            let status = res.status().as_u16();
            let body = res.into_body().collect().await?.to_bytes();
            anyhow::Ok(Answer { status, body })
        };
        let result = tokio::select! {
            biased;
            r = exchange => r,
            done = io.as_mut() => Err(match done {
                Ok(()) => anyhow!("connection closed"),
                Err(e) => e.into(),
            }),
        };
        if result.is_err() {
            // A broken connection is not reused.
            self.link = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_the_rpc_path_and_put_health_beside_it() {
        let t = Target::parse("http://127.0.0.1:13431/").unwrap();
        assert_eq!(t.authority, "127.0.0.1:13431");
        assert_eq!(t.rpc, "/");
        assert_eq!(t.health, "/health");
        let t = Target::parse("http://localhost/authnz/").unwrap();
        assert_eq!(t.authority, "localhost:80");
        assert_eq!(t.host, "localhost");
        assert_eq!(t.health, "/authnz/health");
        assert!(Target::parse("https://example.org/").is_err());
    }
}
