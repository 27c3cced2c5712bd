//! Secrets held in memory — passwords, keys, tokens, credentials in URLs —
//! as `secrecy`'s types: `Debug` prints `[REDACTED]`, there is no `Display`,
//! the bytes are wiped on drop, and reading one takes an explicit
//! `expose_secret()`.

pub use secrecy::{ExposeSecret, SecretBox, SecretString};

/// serde `serialize_with` for optional secrets: writes whether one is set,
/// never its value (the config is serialised for its defaults and key list).
pub fn redacted<S: serde::Serializer>(
    value: &Option<SecretString>,
    out: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => out.serialize_some("[REDACTED]"),
        None => out.serialize_none(),
    }
}
