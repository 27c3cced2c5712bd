//! sea-orm entities for authnzd's tables.
//!
//! Column names follow authnzerver's schema so operators moving over recognise
//! them. Every secret token column holds a SHA-256 hex digest, never the token.

pub mod address_failures;
pub mod apikeys;
pub mod apikeys_nosession;
pub mod audit_events;
pub mod cache_invalidations;
pub mod login_grants;
pub mod mfa_tokens;
pub mod oidc_clients;
pub mod oidc_codes;
pub mod oidc_consents;
pub mod oidc_grants;
pub mod passkey_ceremonies;
pub mod passkeys;
pub mod passwordless_attempts;
pub mod pubkey_challenges;
pub mod pubkey_keys;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod roles;
pub mod server_keys;
pub mod sessions;
pub mod totp_secrets;
pub mod users;
