//! What each scenario sends. Bodies are borrowed structs serialised
//! straight into the envelope, with the field names and datetime format of
//! authnzerver's own frontends, so the same run drives authnzerver too.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use serde::Serialize;

use crate::args::Scenario;
use crate::conn::Conn;
use crate::fixture::Fixture;
use crate::rpc::{Failure, Rpc};

/// Datetimes as authnzerver sends and parses them: naive UTC ISO 8601 with
/// microseconds, no offset (`2026-12-01T14:00:00.123456`).
pub const NAIVE_UTC: &str = "%Y-%m-%dT%H:%M:%S%.6f";

pub const USER_AGENT: &str = "authnzd-loadgen";

/// `now + hours` in [`NAIVE_UTC`].
pub fn expires_in(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours))
        .naive_utc()
        .format(NAIVE_UTC)
        .to_string()
}

#[derive(Serialize)]
pub struct SessionNew<'a> {
    pub ip_address: &'a str,
    pub user_agent: &'a str,
    pub user_id: Option<u64>,
    pub expires: &'a str,
    pub extra_info_json: Option<()>,
}

#[derive(Serialize)]
struct SessionExists<'a> {
    session_token: &'a str,
}

#[derive(Serialize)]
struct UserLogin<'a> {
    session_token: &'a str,
    email: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct UserCheckAccess<'a> {
    user_id: u64,
    user_role: &'a str,
    action: &'a str,
    target_name: &'a str,
    target_owner: u64,
    target_visibility: &'a str,
    target_sharedwith: &'a str,
}

/// The scenario the `i`-th request of a run belongs to (mix: 80 % exists,
/// 10 % new, 5 % login, 5 % access).
pub fn pick(scenario: Scenario, i: u64) -> Scenario {
    match scenario {
        Scenario::Mix => match i % 20 {
            0 | 1 => Scenario::SessionNew,
            2 => Scenario::UserLogin,
            3 => Scenario::UserCheckAccess,
            _ => Scenario::SessionExists,
        },
        s => s,
    }
}

/// The `i`-th of `spread` client addresses in 10.0.0.0/8, written into `buf`.
pub fn client_ip(buf: &mut String, i: u64, spread: u32) {
    use std::fmt::Write;
    let n = (i % u64::from(spread.max(1))) as u32 + 1;
    buf.clear();
    let _ = write!(
        buf,
        "10.{}.{}.{}",
        (n >> 16) & 0xff,
        (n >> 8) & 0xff,
        n & 0xff
    );
}

/// A sealed envelope waiting to be sent: body, request id, request name.
type Sealed = (Bytes, u64, &'static str);

/// Per-worker state a request needs besides the connection.
pub struct Worker {
    pub rpc: Rpc,
    ip: String,
    /// session-new's `expires`, refreshed once a minute, not per request.
    expires: (Instant, String),
    /// Envelopes sealed before the measured window (`--prebuild`), each
    /// sent once, in order, while younger than `fresh_for`.
    ready: VecDeque<Sealed>,
    sealed_at: Instant,
    fresh_for: Duration,
}

impl Worker {
    pub fn new(rpc: Rpc) -> Worker {
        Worker {
            rpc,
            ip: String::with_capacity(16),
            expires: (Instant::now(), expires_in(1)),
            ready: VecDeque::new(),
            sealed_at: Instant::now(),
            fresh_for: Duration::ZERO,
        }
    }

    /// Seals `count` envelopes for this worker's next requests (`i`, `i +
    /// stride`, …) of `scenario`, so the window only sends them. They stay
    /// usable for `fresh_for` (under the server's `request_ttl`); the
    /// server's replay guard is satisfied because each is sent once.
    pub fn prebuild(
        &mut self,
        fixture: &Fixture,
        scenario: Scenario,
        (i, stride, count): (u64, u64, u64),
        client_ips: u32,
        fresh_for: Duration,
    ) -> Result<(), Failure> {
        self.ready.clear();
        for k in 0..count {
            match self.seal(fixture, scenario, i + k * stride, client_ips)? {
                Some(sealed) => self.ready.push_back(sealed),
                None => break,
            }
        }
        self.sealed_at = Instant::now();
        self.fresh_for = fresh_for;
        Ok(())
    }

    /// The envelope for one request of the scenarios that need no earlier
    /// answer; None for user-login and health.
    fn seal(
        &mut self,
        fixture: &Fixture,
        scenario: Scenario,
        i: u64,
        client_ips: u32,
    ) -> Result<Option<Sealed>, Failure> {
        client_ip(&mut self.ip, i, client_ips);
        let ip = self.ip.as_str();
        let (sealed, reqid, name) = match scenario {
            Scenario::SessionExists | Scenario::Mix => {
                let token = &fixture.tokens[(i as usize) % fixture.tokens.len().max(1)];
                let body = SessionExists {
                    session_token: token,
                };
                let (b, id) = self.rpc.seal("session-exists", &body, ip)?;
                (b, id, "session-exists")
            }
            Scenario::SessionNew => {
                if self.expires.0.elapsed().as_secs() >= 60 {
                    self.expires = (Instant::now(), expires_in(1));
                }
                let body = SessionNew {
                    ip_address: ip,
                    user_agent: USER_AGENT,
                    user_id: None,
                    expires: &self.expires.1,
                    extra_info_json: None,
                };
                let (b, id) = self.rpc.seal("session-new", &body, ip)?;
                (b, id, "session-new")
            }
            Scenario::UserCheckAccess => {
                let body = UserCheckAccess {
                    user_id: 2,
                    user_role: "anonymous",
                    action: "view",
                    target_name: "collection",
                    target_owner: 1,
                    target_visibility: "public",
                    target_sharedwith: "",
                };
                let (b, id) = self.rpc.seal("user-check-access", &body, ip)?;
                (b, id, "user-check-access")
            }
            Scenario::UserLogin | Scenario::Health => return Ok(None),
        };
        Ok(Some((sealed, reqid, name)))
    }

    /// A pre-sealed envelope if one is left and still fresh.
    fn take_ready(&mut self) -> Option<Sealed> {
        if self.sealed_at.elapsed() >= self.fresh_for {
            self.ready.clear();
        }
        self.ready.pop_front()
    }

    /// One request of `scenario` (already picked), timed by the caller.
    /// user-login's preceding session-new happens here, untimed: returns
    /// when the timed part started.
    pub async fn one(
        &mut self,
        conn: &mut Conn,
        fixture: &Fixture,
        scenario: Scenario,
        i: u64,
        client_ips: u32,
    ) -> (Option<Instant>, Result<(), Failure>) {
        match scenario {
            Scenario::UserLogin => {
                let (started, r) = self.login(conn, fixture, i, client_ips).await;
                (started, r)
            }
            Scenario::Health => (
                None,
                match conn.health().await {
                    Ok(a) if a.status == 200 => Ok(()),
                    Ok(a) => Err(Failure::Http(a.status)),
                    Err(e) => Err(Failure::Transport(format!("{e:#}"))),
                },
            ),
            _ => {
                let sealed = match self.take_ready() {
                    Some(s) => Ok(Some(s)),
                    None => self.seal(fixture, scenario, i, client_ips),
                };
                let r = match sealed {
                    Ok(Some((body, reqid, _))) => self.rpc.exchange(conn, body, reqid).await,
                    Ok(None) => Err(Failure::Protocol("nothing to send")),
                    Err(e) => Err(e),
                };
                (None, r.map(drop))
            }
        }
    }

    async fn login(
        &mut self,
        conn: &mut Conn,
        fixture: &Fixture,
        i: u64,
        client_ips: u32,
    ) -> (Option<Instant>, Result<(), Failure>) {
        client_ip(&mut self.ip, i, client_ips);
        let ip = self.ip.as_str();
        let expires = expires_in(1);
        let new = SessionNew {
            ip_address: ip,
            user_agent: USER_AGENT,
            user_id: None,
            expires: &expires,
            extra_info_json: None,
        };
        let token = match self.rpc.call(conn, "session-new", &new, ip).await {
            Ok(Some(t)) => t,
            Ok(None) => return (None, Err(Failure::Protocol("setup: no session token"))),
            Err(_) => return (None, Err(Failure::Protocol("setup: session-new failed"))),
        };
        let started = Instant::now();
        let body = UserLogin {
            session_token: &token,
            email: &fixture.email,
            password: &fixture.password,
        };
        let r = self.rpc.call(conn, "user-login", &body, ip).await;
        (Some(started), r.map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_naive_iso_8601_with_microseconds() {
        let s = expires_in(1);
        // 2026-12-01T15:00:00.123456: no offset, no `Z`, six fraction digits.
        assert_eq!(s.len(), 26, "{s}");
        assert!(
            chrono::NaiveDateTime::parse_from_str(&s, NAIVE_UTC).is_ok(),
            "{s}"
        );
        assert!(!s.ends_with('Z') && !s.contains('+'), "{s}");
        let body = serde_json::to_value(SessionNew {
            ip_address: "10.0.0.1",
            user_agent: USER_AGENT,
            user_id: None,
            expires: &s,
            extra_info_json: None,
        })
        .unwrap();
        assert_eq!(body["expires"], s.as_str());
        assert!(body["user_id"].is_null() && body["extra_info_json"].is_null());
    }

    #[test]
    fn mix_and_addresses() {
        let picks: Vec<_> = (0..20).map(|i| pick(Scenario::Mix, i)).collect();
        let count = |s| picks.iter().filter(|&&p| p == s).count();
        assert_eq!(count(Scenario::SessionExists), 16);
        assert_eq!(count(Scenario::SessionNew), 2);
        assert_eq!(count(Scenario::UserLogin), 1);
        assert_eq!(count(Scenario::UserCheckAccess), 1);
        let mut ip = String::new();
        client_ip(&mut ip, 0, 1);
        assert_eq!(ip, "10.0.0.1");
        client_ip(&mut ip, 299, 1000);
        assert_eq!(ip, "10.0.1.44");
    }
}
