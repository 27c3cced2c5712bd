//! Security primitives: password hashing on a bounded pool, and token
//! generation and digests.

pub mod password;
pub mod tokens;
