//! Security primitives: password hashing on a bounded pool, and token
//! generation and digests.

pub mod admission;
pub mod client_addr;
pub mod device_keys;
pub mod email;
pub mod jwt;
pub mod lockout;
pub mod passkeys;
pub mod password;
pub mod password_policy;
pub mod password_rules;
pub mod rate_limit;
mod rate_window;
pub mod redirect;
pub mod server_key;
pub mod tokens;
pub mod totp;
