//! Requests sent at once, to race the server against itself: each on its own
//! task, all released together by a barrier, the replies collected in the
//! order the requests were given.

use std::collections::BTreeMap;
use std::sync::Arc;

use authnzd_client::{Client, ClientError, Reply};
use serde_json::Value;
use tokio::sync::Barrier;

use super::TestServer;

/// Sends every `(request, body)` at once on clones of `client`; the
/// outcomes, transport errors included, in the order given.
pub async fn all_at_once<'a>(
    client: &Client,
    calls: impl IntoIterator<Item = (&'a str, Value)>,
) -> Vec<Result<Reply, ClientError>> {
    let calls: Vec<(String, Value)> = calls
        .into_iter()
        .map(|(name, body)| (name.to_owned(), body))
        .collect();
    let start = Arc::new(Barrier::new(calls.len()));
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(name, body)| {
            let (client, start) = (client.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                client.request(&name, body).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("request task"));
    }
    out
}

/// Sends `request` once per body, all at once; the replies in order (a reply
/// that never came panics).
pub async fn at_once(
    client: &Client,
    request: &str,
    bodies: impl IntoIterator<Item = Value>,
) -> Vec<Reply> {
    all_at_once(client, bodies.into_iter().map(|b| (request, b)))
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{request}: no reply: {e}")))
        .collect()
}

/// How many replies succeeded (`"success"`) and how many failed for each
/// reason (`"-"` when none was given).
pub fn tally(replies: &[Reply]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in replies {
        let key = match (&r.success, &r.failure_reason) {
            (true, _) => "success".to_owned(),
            (false, Some(reason)) => reason.clone(),
            (false, None) => "-".to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// A tally written out: `[("success", 1), ("reason", 7)]`.
pub fn counts<const N: usize>(pairs: [(&str, usize); N]) -> BTreeMap<String, usize> {
    pairs.into_iter().map(|(k, n)| (k.to_owned(), n)).collect()
}

impl TestServer {
    /// `request` once per body, all at once, by this server's client.
    pub async fn at_once(
        &self,
        request: &str,
        bodies: impl IntoIterator<Item = Value>,
    ) -> Vec<Reply> {
        at_once(&self.client, request, bodies).await
    }

    /// The same `request` `n` times at once.
    pub async fn repeated(&self, request: &str, body: Value, n: usize) -> Vec<Reply> {
        self.at_once(request, std::iter::repeat_n(body, n)).await
    }
}
