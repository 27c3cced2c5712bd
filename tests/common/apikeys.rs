//! API-key request bodies: a `Holder` (who asks, in which role) makes the
//! bodies that issue, present and refresh keys; `Key` is an issued key.

use authnzd_client::Reply;
use serde_json::{Map, Value, json};

use super::fixtures::{IP, UA};

/// The issuer, audience and subject of every test key.
pub const ISSUER: &str = "authnzd-tests";
pub const AUDIENCE: &str = "api.example.com";
pub const SUBJECT: &str = "/api/v1";

/// A user asking for or presenting keys, claiming `role`.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub user_id: i64,
    pub role: &'a str,
}

impl<'a> Holder<'a> {
    pub fn new(user_id: i64, role: &'a str) -> Holder<'a> {
        Holder { user_id, role }
    }
}

/// `user_id` as an authenticated user.
pub fn member(user_id: i64) -> Holder<'static> {
    Holder::new(user_id, "authenticated")
}

/// The anonymous user (id 2).
pub const ANONYMOUS: Holder<'static> = Holder {
    user_id: 2,
    role: "anonymous",
};

/// The superuser (id 1).
pub const SUPERUSER: Holder<'static> = Holder {
    user_id: 1,
    role: "superuser",
};

/// An issued key: the claims (`apikey_dict`) and, for session-less keys,
/// the refresh token.
#[derive(Debug, Clone)]
pub struct Key {
    pub dict: Map<String, Value>,
    pub refresh_token: Option<String>,
    /// The whole response that issued it.
    pub response: Value,
}

impl Key {
    /// The key a reply issued (asserted to have succeeded).
    pub fn from_reply(r: &Reply) -> Key {
        assert!(r.success, "no key issued: {r:?}");
        let text = r.response["apikey"]
            .as_str()
            .expect("apikey is a JSON string");
        Key {
            dict: serde_json::from_str(text).expect("apikey JSON"),
            refresh_token: r.response["refresh_token"].as_str().map(str::to_owned),
            response: r.response.clone(),
        }
    }

    /// The key's secret token (`tkn`).
    pub fn token(&self) -> &str {
        self.dict["tkn"].as_str().expect("tkn")
    }

    /// The refresh token (session-less keys).
    pub fn refresh(&self) -> &str {
        self.refresh_token.as_deref().expect("a refresh token")
    }

    /// A copy with `claim` set to `value` (a forgery).
    pub fn with(&self, claim: &str, value: Value) -> Key {
        let mut forged = self.clone();
        forged.dict.insert(claim.into(), value);
        forged
    }
}

impl Holder<'_> {
    /// The body presenting `key` (verify, revoke, revoke-all).
    pub fn present(&self, key: &Key) -> Value {
        json!({"apikey_dict": key.dict, "user_id": self.user_id, "user_role": self.role})
    }

    /// An apikey-new body: a key bound to `session`, valid for `days` from
    /// `nbf` seconds on.
    pub fn session_key(&self, session: &str, days: i64, nbf: f64) -> Value {
        json!({"issuer": ISSUER, "audience": AUDIENCE, "subject": SUBJECT,
               "apiversion": 1, "expires_days": days, "not_valid_before": nbf,
               "user_id": self.user_id, "user_role": self.role, "ip_address": IP,
               "user_agent": UA, "session_token": session})
    }

    /// An apikey-new-nosession body: a key valid for `expires` seconds, its
    /// refresh token for `refresh_expires` seconds from `refresh_nbf` on.
    pub fn free_key(&self, expires: i64, refresh_expires: i64, refresh_nbf: f64) -> Value {
        json!({"issuer": ISSUER, "audience": AUDIENCE, "subject": SUBJECT,
               "apiversion": "v1", "expires_seconds": expires, "not_valid_before": 0,
               "user_id": self.user_id, "user_role": self.role, "ip_address": IP,
               "refresh_expires": refresh_expires, "refresh_nbf": refresh_nbf})
    }

    /// An apikey-refresh-nosession body for `key` with refresh token
    /// `token`, from `ip`: a new key for 600 s, its refresh token for a day
    /// from 300 s on.
    pub fn refresh(&self, key: &Key, token: &str, ip: &str) -> Value {
        json!({"apikey_dict": key.dict, "user_id": self.user_id, "user_role": self.role,
               "refresh_token": token, "ip_address": ip, "expires_seconds": 600,
               "not_valid_before": 0, "refresh_expires": 86_400, "refresh_nbf": 300})
    }
}
