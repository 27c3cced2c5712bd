//! The encrypted envelope: `base64_std(fernet_token)` around a JSON object.
//!
//! Opening checks, in order: base64, a key of the ring that authenticates the
//! token, freshness (TTL and future skew, inside `fernet`), then replay. Only
//! authenticated tokens reach the replay memory, so undecryptable floods cost
//! nothing there.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use parking_lot::Mutex;
use serde_json::{Map, Value};

use crate::clock::SharedClock;
pub use crate::crypto::{KeyError, KeyRing};

/// Why a request could not be opened. The HTTP layer maps each variant to a
/// status; `Undecryptable` deliberately does not say which check failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("request could not be authenticated")]
    Undecryptable,
    #[error("request is not a JSON object")]
    NotAnObject,
    #[error("request field `{0}` is missing or has the wrong type")]
    BadField(&'static str),
}

/// A request that passed every envelope check.
#[derive(Debug)]
pub struct Opened {
    /// Index of the ring key that opened it; the reply is sealed with it.
    pub key: usize,
    pub request: String,
    pub body: Map<String, Value>,
    pub reqid: Value,
    /// From the envelope, or from `body` as authnzerver's client also sends it.
    pub client_ipaddr: Option<String>,
    /// The token's timestamp and the head of its tag: what the shared
    /// replay guard (`security::admission`) remembers.
    pub stamp: (u64, u128),
}

pub struct Envelope {
    ring: KeyRing,
    ttl: u64,
    replay: ReplayGuard,
    clock: SharedClock,
    not_before: Option<u64>,
}

impl Envelope {
    /// `not_before`: tokens stamped earlier are refused. A process whose
    /// replay memory is its own sets it to its start, so a restart cannot
    /// readmit a token the last run saw.
    pub fn new(
        ring: KeyRing,
        ttl: u64,
        replay_entries: usize,
        clock: SharedClock,
        not_before: Option<u64>,
    ) -> Envelope {
        Envelope {
            ring,
            ttl,
            replay: ReplayGuard::new(replay_entries, ttl),
            clock,
            not_before,
        }
    }

    pub fn open(&self, body: &[u8]) -> Result<Opened, OpenError> {
        let body = body.trim_ascii();
        let token = STANDARD
            .decode(body)
            .map_err(|_| OpenError::Undecryptable)?;
        let token = std::str::from_utf8(&token).map_err(|_| OpenError::Undecryptable)?;
        let now = self.clock.unix();
        let (key, plain) = self
            .ring
            .fernets()
            .iter()
            .enumerate()
            .find_map(|(i, k)| {
                k.decrypt_at_time(token, Some(self.ttl), now)
                    .ok()
                    .map(|p| (i, p))
            })
            .ok_or(OpenError::Undecryptable)?;
        let (timestamp, tag) = token_stamp(token).ok_or(OpenError::Undecryptable)?;
        if self.not_before.is_some_and(|t| timestamp < t) {
            return Err(OpenError::Undecryptable);
        }
        if !self.replay.first_sight(timestamp, tag, now) {
            return Err(OpenError::Undecryptable);
        }
        parse_request(key, &plain, (timestamp, tag))
    }

    /// Encrypts a reply with ring key `key` (the one that opened the request).
    pub fn seal(&self, key: usize, reply: &impl serde::Serialize) -> String {
        // Sized for a typical answer, so it is not regrown as it is written.
        // Writing JSON into a Vec cannot fail for these types (string keys).
        let mut json = Vec::with_capacity(2048);
        if serde_json::to_writer(&mut json, reply).is_err() {
            json.clear();
        }
        let keys = self.ring.fernets();
        // A ring is never empty (parsing refuses that).
        let Some(fernet) = keys.get(key).or(keys.first()) else {
            return String::new();
        };
        let token = fernet.encrypt_at_time(&json, self.clock.unix());
        STANDARD.encode(token)
    }
}

fn parse_request(key: usize, plain: &[u8], stamp: (u64, u128)) -> Result<Opened, OpenError> {
    let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(plain) else {
        return Err(OpenError::NotAnObject);
    };
    let request = match obj.remove("request") {
        Some(Value::String(s)) => s,
        _ => return Err(OpenError::BadField("request")),
    };
    let body = match obj.remove("body") {
        Some(Value::Object(b)) => b,
        _ => return Err(OpenError::BadField("body")),
    };
    let reqid = match obj.remove("reqid") {
        Some(v @ Value::String(_)) => v,
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n),
        _ => return Err(OpenError::BadField("reqid")),
    };
    let client_ipaddr = match obj
        .remove("client_ipaddr")
        .or_else(|| body.get("client_ipaddr").cloned())
    {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(Value::String(_)) | Some(Value::Null) | None => None,
        Some(_) => return Err(OpenError::BadField("client_ipaddr")),
    };
    Ok(Opened {
        key,
        request,
        body,
        reqid,
        client_ipaddr,
        stamp,
    })
}

/// The Fernet timestamp and the first 16 bytes of the HMAC tag.
fn token_stamp(token: &str) -> Option<(u64, u128)> {
    let raw = URL_SAFE.decode(token.as_bytes()).ok()?;
    if raw.len() < 1 + 8 + 16 + 32 {
        return None;
    }
    let timestamp = u64::from_be_bytes(raw[1..9].try_into().ok()?);
    let tag_start = raw.len() - 32;
    let tag = u128::from_be_bytes(raw[tag_start..tag_start + 16].try_into().ok()?);
    Some((timestamp, tag))
}

const REPLAY_SHARDS: usize = 16;

/// Remembers the tags of accepted tokens for as long as their timestamps are
/// within the TTL. Memory is bounded: when a shard is full its oldest second
/// is forgotten and a floor is raised, below which tokens are refused — so a
/// flood shortens the effective TTL instead of letting a replay through.
pub struct ReplayGuard {
    shards: Vec<Mutex<ReplayShard>>,
    per_shard: usize,
    ttl: u64,
}

#[derive(Default)]
struct ReplayShard {
    /// Tags by the second they were stamped, each folded to 64 bits: a
    /// false match among a million has a 2^-44 chance (and refuses one
    /// request); remembering half as much matters more.
    by_second: BTreeMap<u64, HashSet<u64>>,
    len: usize,
    floor: u64,
}

impl ReplayShard {
    fn drop_oldest(&mut self) -> Option<u64> {
        let (second, tags) = self.by_second.pop_first()?;
        self.len -= tags.len();
        Some(second)
    }
}

impl ReplayGuard {
    pub fn new(entries: usize, ttl: u64) -> ReplayGuard {
        ReplayGuard {
            shards: (0..REPLAY_SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: (entries / REPLAY_SHARDS).max(1),
            ttl,
        }
    }

    /// True the first time a (timestamp, tag) is seen; false for a replay or
    /// for a token older than what the guard still remembers.
    pub fn first_sight(&self, timestamp: u64, tag: u128, now: u64) -> bool {
        let mut shard = self.shards[(tag as usize) % REPLAY_SHARDS].lock();
        let horizon = now.saturating_sub(self.ttl);
        while shard
            .by_second
            .first_key_value()
            .is_some_and(|(s, _)| *s < horizon)
        {
            shard.drop_oldest();
        }
        if timestamp < shard.floor {
            return false;
        }
        let kept = (tag ^ (tag >> 64)) as u64;
        if !shard.by_second.entry(timestamp).or_default().insert(kept) {
            return false;
        }
        shard.len += 1;
        while shard.len > self.per_shard {
            match shard.drop_oldest() {
                Some(second) => shard.floor = shard.floor.max(second + 1),
                None => break,
            }
        }
        true
    }

    /// Tags remembered now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, SystemClock};
    use std::sync::Arc;

    fn envelope(keys: &str) -> Envelope {
        Envelope::new(
            KeyRing::parse(keys).unwrap(),
            300,
            10_000,
            Arc::new(SystemClock),
            None,
        )
    }

    fn seal_request(key: &str, json: &str) -> Vec<u8> {
        let token = fernet::Fernet::new(key).unwrap().encrypt(json.as_bytes());
        STANDARD.encode(token).into_bytes()
    }

    #[test]
    fn opens_with_any_ring_key_and_remembers_which() {
        let (a, b) = (KeyRing::generate_key(), KeyRing::generate_key());
        let env = envelope(&format!("{a},{b}"));
        let req = seal_request(&b, r#"{"request":"x","body":{},"reqid":7}"#);
        let opened = env.open(&req).unwrap();
        assert_eq!(opened.key, 1);
        assert_eq!(opened.reqid, Value::from(7));
    }

    #[test]
    fn replay_is_refused() {
        let k = KeyRing::generate_key();
        let env = envelope(&k);
        let req = seal_request(&k, r#"{"request":"x","body":{},"reqid":"a"}"#);
        assert!(env.open(&req).is_ok());
        assert_eq!(env.open(&req).unwrap_err(), OpenError::Undecryptable);
    }

    #[test]
    fn tokens_stamped_before_not_before_are_refused() {
        let k = KeyRing::generate_key();
        let now = SystemClock.unix();
        let env = Envelope::new(
            KeyRing::parse(&k).unwrap(),
            300,
            10_000,
            Arc::new(SystemClock),
            Some(now),
        );
        let json = br#"{"request":"x","body":{},"reqid":1}"#;
        let sealed = |at| {
            let token = fernet::Fernet::new(&k).unwrap().encrypt_at_time(json, at);
            STANDARD.encode(token).into_bytes()
        };
        assert_eq!(
            env.open(&sealed(now - 1)).unwrap_err(),
            OpenError::Undecryptable
        );
        let opened = env.open(&sealed(now)).unwrap();
        assert_eq!(opened.stamp.0, now);
    }

    #[test]
    fn envelope_fields_are_checked() {
        let k = KeyRing::generate_key();
        let env = envelope(&k);
        let cases = [
            (r#"[1,2]"#, OpenError::NotAnObject),
            (r#"{"body":{},"reqid":1}"#, OpenError::BadField("request")),
            (
                r#"{"request":"x","body":[],"reqid":1}"#,
                OpenError::BadField("body"),
            ),
            (r#"{"request":"x","body":{}}"#, OpenError::BadField("reqid")),
            (
                r#"{"request":"x","body":{},"reqid":true}"#,
                OpenError::BadField("reqid"),
            ),
        ];
        for (json, want) in cases {
            assert_eq!(
                env.open(&seal_request(&k, json)).unwrap_err(),
                want,
                "{json}"
            );
        }
    }

    #[test]
    fn client_ipaddr_is_taken_from_body_too() {
        let k = KeyRing::generate_key();
        let env = envelope(&k);
        let req = r#"{"request":"x","body":{"client_ipaddr":"10.0.0.1"},"reqid":1}"#;
        let opened = env.open(&seal_request(&k, req)).unwrap();
        assert_eq!(opened.client_ipaddr.as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn replay_guard_memory_is_bounded_and_never_readmits() {
        let guard = ReplayGuard::new(REPLAY_SHARDS * 100, 300);
        let now = 1_000_000;
        for i in 0..100_000u128 {
            let ts = now - 200 + (i as u64 / 1000);
            assert!(guard.first_sight(ts, i, now));
        }
        assert!(guard.len() <= REPLAY_SHARDS * 100);
        // An early token that was forgotten is refused by the floor.
        assert!(!guard.first_sight(now - 200, 0, now));
        // The newest ones are still remembered.
        assert!(!guard.first_sight(now - 101, 99_999, now));
    }

    #[test]
    fn replay_guard_tells_apart_tags_that_differ_only_in_their_high_half() {
        let guard = ReplayGuard::new(10_000, 300);
        let low = 0x5a5a_u128;
        let high = low | (0x3c_u128 << 64);
        assert!(guard.first_sight(1000, low, 1000));
        assert!(guard.first_sight(1000, high, 1000));
        assert!(!guard.first_sight(1000, high, 1000));
        assert!(!guard.first_sight(1000, low, 1000));
    }

    #[test]
    fn replay_guard_forgets_expired_seconds() {
        let guard = ReplayGuard::new(10_000, 300);
        assert!(guard.first_sight(1000, 1, 1000));
        assert_eq!(guard.len(), 1);
        // Shards forget lazily, when next touched: use the same shard.
        let same_shard = 1 + REPLAY_SHARDS as u128;
        assert!(guard.first_sight(1400, same_shard, 1400));
        assert_eq!(guard.len(), 1);
    }
}
