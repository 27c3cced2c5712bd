//! The range of every number that reaches date arithmetic, a timer or an
//! allocation; README's table lists the same ones.

use super::Config;
use super::server::MAX_BODY_READ_TIMEOUT;

impl Config {
    /// `(key, value, min, max, unit)` for every bounded number.
    pub(super) fn bounded(&self) -> [(&'static str, u64, u64, u64, &'static str); 38] {
        const DAY: u64 = 86_400;
        const YEAR: u64 = 366 * DAY;
        let n = |v: u32| u64::from(v);
        let z = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        [
            ("request_ttl", self.server.request_ttl, 1, DAY, " s"),
            (
                "replay_cache_entries",
                z(self.server.replay_cache_entries),
                1000,
                100_000_000,
                "",
            ),
            (
                "max_body_bytes",
                self.server.max_body_bytes,
                1024,
                1 << 30,
                " bytes",
            ),
            (
                "header_read_timeout",
                self.server.header_read_timeout,
                1,
                3600,
                " s",
            ),
            (
                "body_read_timeout",
                self.server.body_read_timeout,
                1,
                MAX_BODY_READ_TIMEOUT,
                " s",
            ),
            ("drain_timeout", self.server.drain_timeout, 0, 3600, " s"),
            (
                "session_expiry_days",
                n(self.sessions.session_expiry_days),
                1,
                3660,
                " days",
            ),
            (
                "user_lock_tries",
                n(self.lockout.user_lock_tries),
                1,
                1000,
                "",
            ),
            ("user_lock_time", self.lockout.user_lock_time, 1, YEAR, " s"),
            (
                "failed_login_delay_ms",
                self.lockout.failed_login_delay_ms,
                0,
                10_000,
                " ms",
            ),
            (
                "fresh_sign_in_window",
                self.sessions.fresh_sign_in_window,
                30,
                86_400,
                " s",
            ),
            (
                "session_cache_ttl",
                self.sessions.session_cache_ttl,
                0,
                DAY,
                " s",
            ),
            (
                "session_cache_entries",
                self.sessions.session_cache_entries,
                0,
                100_000_000,
                "",
            ),
            (
                "invalidation_outbox",
                self.sessions.invalidation_outbox,
                1,
                1_000_000,
                "",
            ),
            (
                "db_max_connections",
                n(self.database.db_max_connections),
                2,
                10_000,
                "",
            ),
            (
                "hash_workers",
                z(self.hashing.hash_workers.unwrap_or(1)),
                1,
                1024,
                "",
            ),
            ("hash_queue", z(self.hashing.hash_queue), 1, 1_000_000, ""),
            (
                "argon2_memory_kib",
                n(self.hashing.argon2_memory_kib),
                8,
                4 << 20,
                " KiB",
            ),
            (
                "argon2_iterations",
                n(self.hashing.argon2_iterations),
                1,
                100,
                "",
            ),
            (
                "argon2_parallelism",
                n(self.hashing.argon2_parallelism),
                1,
                64,
                "",
            ),
            ("mail_timeout", self.mail.mail_timeout, 1, 300, " s"),
            (
                "passwordless_ttl",
                self.passwordless.passwordless_ttl,
                60,
                DAY,
                " s",
            ),
            (
                "passwordless_address_window",
                self.passwordless.passwordless_address_window,
                60,
                YEAR,
                " s",
            ),
            (
                "passwordless_ip_window",
                self.passwordless.passwordless_ip_window,
                60,
                YEAR,
                " s",
            ),
            (
                "passwordless_per_address",
                n(self.passwordless.passwordless_per_address),
                1,
                1000,
                "",
            ),
            (
                "passwordless_per_ip",
                n(self.passwordless.passwordless_per_ip),
                1,
                100_000,
                "",
            ),
            (
                "passwordless_min_answer_ms",
                self.passwordless.passwordless_min_answer_ms,
                0,
                10_000,
                " ms",
            ),
            (
                "pubkey_challenge_ttl",
                self.pubkey.pubkey_challenge_ttl,
                30,
                3600,
                " s",
            ),
            (
                "webauthn_ceremony_ttl",
                self.webauthn.webauthn_ceremony_ttl,
                30,
                3600,
                " s",
            ),
            (
                "access_token_ttl",
                self.tokens.access_token_ttl,
                30,
                DAY,
                " s",
            ),
            (
                "refresh_token_ttl_days",
                self.tokens.refresh_token_ttl_days,
                1,
                3650,
                " days",
            ),
            (
                "refresh_reuse_grace",
                self.tokens.refresh_reuse_grace,
                0,
                300,
                " s",
            ),
            (
                "jwt_key_rotation_days",
                self.tokens.jwt_key_rotation_days,
                0,
                3650,
                " days",
            ),
            (
                "redis_timeout_ms",
                self.redis.redis_timeout_ms,
                1,
                10_000,
                " ms",
            ),
            (
                "gateway_rate_limit",
                self.gateway.gateway_rate_limit,
                0,
                1_000_000,
                "/s",
            ),
            (
                "portal_reset_ttl",
                self.portal.portal_reset_ttl,
                300,
                DAY,
                " s",
            ),
            (
                "portal_verify_ttl",
                self.portal.portal_verify_ttl,
                300,
                7 * DAY,
                " s",
            ),
            (
                "audit_retention_days",
                n(self.ops.audit_retention_days),
                1,
                3660,
                " days",
            ),
        ]
    }
}
