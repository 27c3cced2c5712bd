//! What tests set up again and again: users of each role, sessions, logins,
//! and what the audit log says.

use authnzd_client::Reply;
use serde_json::{Value, json};

use super::TestServer;

/// A password the default policy accepts, for every test user.
pub const PW: &str = "tangerine-Voyage-8713-quartz";
/// A second accepted password (changes, resets).
pub const PW2: &str = "lantern+Orchid=5521/basalt";
/// The client address and browser of every test session.
pub const IP: &str = "203.0.113.7";
pub const UA: &str = "Mozilla/5.0 (integration test)";

/// A session-new body for `user_id` expiring in `hours`.
pub fn session_new_body(user_id: Option<i64>, hours: i64) -> Value {
    let expires = chrono::Utc::now() + chrono::Duration::hours(hours);
    json!({
        "ip_address": IP,
        "user_agent": UA,
        "user_id": user_id,
        "expires": expires.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "extra_info_json": {"purpose": "test"},
    })
}

/// A user-login body.
pub fn login_body(session: &str, email: &str, password: &str) -> Value {
    json!({"session_token": session, "email": email, "password": password})
}

/// The `session_token` of a reply (session-new).
pub fn token_of(response: &Value) -> String {
    response["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no session_token in {response}"))
        .to_owned()
}

/// Sets `c`'s argon2 cost to the production defaults (the kit's is cheap).
pub fn production_hashing(c: &mut authnzd::config::Config) {
    let defaults = authnzd::config::Config::default();
    c.hashing.argon2_memory_kib = defaults.hashing.argon2_memory_kib;
    c.hashing.argon2_iterations = defaults.hashing.argon2_iterations;
}

impl TestServer {
    /// A server locking accounts after `tries` failed logins, each failure
    /// answered after `delay_ms` (growing as configured).
    pub async fn with_lockout(tries: u32, delay_ms: u64) -> TestServer {
        Self::start_with(|c| {
            c.lockout.user_lock_tries = tries;
            c.lockout.failed_login_delay_ms = delay_ms;
        })
        .await
    }

    /// A server whose forward-auth gateway sends the signed-out of hosts
    /// under example.com to https://login.example.com/signin; `tweak` on top.
    pub async fn with_forward_auth(tweak: impl FnOnce(&mut authnzd::config::Config)) -> TestServer {
        Self::start_with(|c| {
            c.gateway.forward_auth_login_url = "https://login.example.com/signin".into();
            c.gateway.forward_auth_domains = "example.com".into();
            tweak(c);
        })
        .await
    }

    /// A server with the default rate limits and `session-new` limited to
    /// `per_minute` requests a minute.
    pub async fn with_session_new_limit(per_minute: u32) -> TestServer {
        Self::start_with(|c| {
            let defaults = authnzd::config::LimitsConfig::default().rate_limits;
            c.limits.rate_limits = format!("{defaults}; session-new:{per_minute}");
        })
        .await
    }

    /// Signs `email` up (not verified) with "Test Person" as its name.
    pub async fn sign_up(&self, email: &str, password: &str) -> Reply {
        self.call(
            "user-new",
            json!({"full_name": "Test Person", "email": email, "password": password}),
        )
        .await
    }

    /// Creates a verified, active user and returns its id.
    pub async fn verified_user(&self, email: &str, password: &str) -> i64 {
        let made = self.sign_up(email, password).await;
        assert!(made.success, "user-new: {made:?}");
        self.ok("user-set-emailverified", json!({"email": email}))
            .await;
        made.response["user_id"].as_i64().expect("user_id")
    }

    /// A verified user with password `PW` holding `role` (set by
    /// internal-user-edit unless it is `authenticated`).
    pub async fn user_with_role(&self, email: &str, role: &str) -> i64 {
        let id = self.verified_user(email, PW).await;
        if role != "authenticated" {
            self.edit_user(id, json!({"user_role": role})).await;
        }
        id
    }

    /// internal-user-edit of `user_id` with `update`, asserted to succeed;
    /// returns the `user_info` after it.
    pub async fn edit_user(&self, user_id: i64, update: Value) -> Value {
        let r = self.try_edit_user(user_id, update).await;
        assert!(r.success, "internal-user-edit: {r:?}");
        r.response["user_info"].clone()
    }

    /// internal-user-edit of `user_id` with `update`, as answered.
    pub async fn try_edit_user(&self, user_id: i64, update: Value) -> Reply {
        let body = json!({"target_userid": user_id, "update_dict": update});
        self.call("internal-user-edit", body).await
    }

    /// internal-user-lock with `action` (`lock` or `unlock`), asserted to
    /// succeed; returns the `user_info` after it.
    pub async fn lock_user(&self, user_id: i64, action: &str) -> Value {
        let body = json!({"target_userid": user_id, "action": action});
        self.ok("internal-user-lock", body).await["user_info"].clone()
    }

    /// A new session for `user_id` (`None`: anonymous) lasting `hours`.
    pub async fn session_for(&self, user_id: Option<i64>, hours: i64) -> String {
        token_of(
            &self
                .ok("session-new", session_new_body(user_id, hours))
                .await,
        )
    }

    /// A fresh anonymous session token.
    pub async fn anon_session(&self) -> String {
        self.session_for(None, 1).await
    }

    /// session-exists for `token`, as answered.
    pub async fn session_exists(&self, token: &str) -> Reply {
        self.call("session-exists", json!({"session_token": token}))
            .await
    }

    /// Whether session-exists finds `token`.
    pub async fn session_alive(&self, token: &str) -> bool {
        self.session_exists(token).await.success
    }

    /// user-login from a fresh anonymous session, as answered.
    pub async fn try_login(&self, email: &str, password: &str) -> Reply {
        let anon = self.anon_session().await;
        self.call("user-login", login_body(&anon, email, password))
            .await
    }

    /// Logs `email` in from a fresh anonymous session and returns the new
    /// session token of the user (the frontend's flow).
    pub async fn login(&self, email: &str, password: &str) -> Result<(i64, String), Reply> {
        let r = self.try_login(email, password).await;
        if !r.success {
            return Err(r);
        }
        let user_id = r.response["user_id"].as_i64().expect("user_id");
        Ok((user_id, self.session_for(Some(user_id), 1).await))
    }

    /// The audit log: (event, user_id, detail), oldest first.
    pub async fn audit_events(&self) -> Vec<(String, Option<i64>, Value)> {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::audit_events::Entity::find()
            .order_by_asc(entity::audit_events::Column::Id)
            .all(&self.running().app.db)
            .await
            .expect("audit events")
            .into_iter()
            .map(|e| (e.event, e.user_id, e.detail.unwrap_or(Value::Null)))
            .collect()
    }

    /// How many audit events named `event` there are.
    pub async fn audit_count(&self, event: &str) -> usize {
        let events = self.audit_events().await;
        events.iter().filter(|(e, _, _)| e == event).count()
    }
}

/// Asserts `s` is a datetime as authnzerver answers them: naive UTC ISO 8601
/// (`2026-12-01T11:37:03.123456`, no offset), which Python's
/// `datetime.fromisoformat` reads as a naive datetime.
pub fn assert_naive_utc(s: &str) {
    assert!(
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
        "not a naive ISO datetime: {s}"
    );
}
