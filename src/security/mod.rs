//! Security primitives: password hashing on a bounded pool, and token
//! generation and digests.

pub mod device_keys;
pub mod email;
pub mod jwt;
pub mod lockout;
pub mod password;
pub mod password_policy;
pub mod password_rules;
pub mod rate_limit;
pub mod server_key;
pub mod tokens;
pub mod totp;
