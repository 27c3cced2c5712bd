//! Requests sent at once, to race the server against itself: each on its own
//! task, all released together by a barrier, the replies collected in the
//! order the requests were given.

use std::collections::BTreeMap;
use std::sync::Arc;

use authnzd_client::{Client, ClientError, Reply};
use authnzd_proto::Refusal;
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

/// One reply as a tally counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Success,
    Refused(Refusal),
    /// Refused without a `failure_reason`.
    NoReason,
}

impl Answer {
    pub fn of(r: &Reply) -> Answer {
        match (r.success, r.refusal()) {
            (true, _) => Answer::Success,
            (false, Some(reason)) => Answer::Refused(reason),
            (false, None) => Answer::NoReason,
        }
    }

    /// A total order for the tally's map: by kind, then by the variant's
    /// name and its wire text (which tell `Invalid` from `Other`).
    fn key(&self) -> (u8, &'static str, &str) {
        match self {
            Answer::Success => (0, "", ""),
            Answer::Refused(r) => (1, r.variant(), r.as_str()),
            Answer::NoReason => (2, "", ""),
        }
    }
}

impl Ord for Answer {
    fn cmp(&self, other: &Answer) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Answer {
    fn partial_cmp(&self, other: &Answer) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// How many replies succeeded and how many were refused for each reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(pub BTreeMap<Answer, usize>);

impl Tally {
    /// How many succeeded.
    pub fn successes(&self) -> usize {
        self.0.get(&Answer::Success).copied().unwrap_or(0)
    }

    /// How many were refused for `reason`.
    pub fn of(&self, reason: Refusal) -> usize {
        self.0.get(&Answer::Refused(reason)).copied().unwrap_or(0)
    }
}

pub fn tally(replies: &[Reply]) -> Tally {
    let mut counts = BTreeMap::new();
    for r in replies {
        *counts.entry(Answer::of(r)).or_default() += 1;
    }
    Tally(counts)
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

/// A tally written out: `counts(1, [(Refusal::ChallengeUsed, 9)])` for one
/// success and nine refusals (a count of 0 is left out, as `tally` does).
pub fn counts<const N: usize>(successes: usize, refusals: [(Refusal, usize); N]) -> Tally {
    let answers = std::iter::once((Answer::Success, successes))
        .chain(refusals.into_iter().map(|(r, n)| (Answer::Refused(r), n)));
    Tally(answers.filter(|(_, n)| *n > 0).collect())
}
