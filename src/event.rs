//! The security events written to `audit_events`: one variant each, with
//! its detail as fields, so a name or a detail key cannot be misspelt at one
//! call site. Stored as the kebab-case name and the fields as a JSON object.

use authnzd_proto::Amr;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// `user-login` succeeded; the address as a keyed digest.
    Login {
        email: String,
    },
    LoginFailed {
        email: String,
        reason: Option<String>,
    },
    /// The guess that found no try left locked the account.
    AccountLocked {
        failures: u32,
    },
    UserLocked {
        by: By,
    },
    UserUnlocked {
        by: By,
    },
    PasswordChanged,
    PasswordReset,
    /// A link to confirm a new address was mailed to it.
    EmailChangeRequested,
    /// The link was opened: the account has the new address, verified.
    EmailChanged,
    ApikeyIssue {
        family: Family,
    },
    ApikeyRefresh {
        family: Family,
    },
    ApikeyRevoke {
        family: Family,
        by: i64,
    },
    ApikeyRevokeAll {
        revoked: u64,
        by: i64,
    },
    PasswordlessSend {
        channel: String,
        sent: bool,
    },
    PasswordlessSendFailed {
        channel: String,
    },
    PasswordlessWindowFull {
        channel: String,
        window: Window,
    },
    PasswordlessWrongCode {
        channel: String,
        wrong_codes: i32,
    },
    /// An account that cannot sign in finished an attempt.
    PasswordlessRefused {
        channel: String,
    },
    PasswordlessFinish {
        channel: String,
        by: Proof,
    },
    TotpEnrollStart,
    TotpEnrolled,
    TotpWrongCode,
    TotpRecoveryCodeUsed,
    TotpDisabled,
    TotpRecoveryRegenerated,
    MfaLogin {
        amr: Amr,
    },
    PubkeyRegisterFailed {
        reason: KeyFailure,
    },
    /// A key registered from a QR code, pending the browser's confirmation.
    PubkeyRegistered {
        key_id: String,
        label: Option<String>,
        fingerprint: String,
    },
    /// The browser confirmed it: the key can log in.
    PubkeyAdded {
        key_id: String,
        label: Option<String>,
    },
    PubkeyLoginFailed {
        reason: KeyFailure,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
    },
    PubkeyLogin {
        key_id: String,
    },
    PubkeyRemoved {
        key_id: String,
    },
    /// A passkey registered (`passkey-register-finish`).
    PasskeyAdded {
        passkey_id: String,
        label: Option<String>,
        backup_eligible: bool,
    },
    PasskeyRemoved {
        passkey_id: String,
    },
    PasskeyLogin {
        passkey_id: String,
        user_verified: bool,
    },
    PasskeyLoginFailed {
        /// The refusal's `failure_reason`.
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        passkey_id: Option<String>,
    },
    TokenIssue {
        family: String,
    },
    TokenRefresh {
        family: String,
    },
    TokenReuseDetected {
        family: String,
    },
    TokenRevoke {
        family: String,
        tokens: u64,
    },
    SessionDeleteOthers {
        deleted: u64,
    },
    /// An authorization code handed to an OpenID Connect client.
    OidcAuthorize {
        client: String,
        scope: String,
    },
    /// The user agreed to give a client these scopes.
    OidcConsent {
        client: String,
        scope: String,
    },
    /// A code redeemed for tokens.
    OidcToken {
        client: String,
    },
    /// A refresh token of a client's grant rotated.
    OidcRefresh {
        client: String,
        family: String,
    },
    /// A code presented again: what the first redemption issued is revoked.
    OidcCodeReplayed {
        client: String,
        revoked: bool,
    },
    /// Once a minute per client and limit.
    RateLimited {
        request: String,
        limit: String,
    },
    /// `authnzd user …` on the operator's command line.
    OperatorUserAdd {
        by: By,
    },
    OperatorUserLock {
        by: By,
    },
    OperatorUserUnlock {
        by: By,
    },
    OperatorUserSetRole {
        by: By,
    },
    OperatorUserResetPassword {
        by: By,
    },
    OperatorUserDelete {
        by: By,
    },
}

/// Who locked or unlocked an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum By {
    /// A superuser, by id (`user-lock`).
    User(i64),
    /// `internal`: a trusted frontend; `authnzd-cli`: the operator.
    Named(&'static str),
}

/// Which key family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Session,
    Nosession,
}

/// Which passwordless send window was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Address,
    Client,
}

/// How a passwordless attempt was finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proof {
    Link,
    Code,
}

/// Why a device key did not register or log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyFailure {
    #[serde(rename = "signature")]
    Signature,
    #[serde(rename = "unknown key")]
    UnknownKey,
    #[serde(rename = "account")]
    Account,
}

impl Event {
    /// The stored form: the event's name, and its fields as a JSON object.
    pub fn parts(&self) -> (String, Value) {
        let mut fields = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            // An internally tagged enum of struct and unit variants always
            // serialises to an object.
            _ => serde_json::Map::new(),
        };
        let name = match fields.remove("event") {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        (name, Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_stored_as_their_kebab_name_and_fields() {
        assert_eq!(
            Event::AccountLocked { failures: 3 }.parts(),
            ("account-locked".to_owned(), json!({"failures": 3}))
        );
        assert_eq!(
            Event::PasswordChanged.parts(),
            ("password-changed".to_owned(), json!({}))
        );
        assert_eq!(
            Event::UserLocked {
                by: By::Named("internal")
            }
            .parts()
            .1,
            json!({"by": "internal"})
        );
        assert_eq!(
            Event::PubkeyLoginFailed {
                reason: KeyFailure::UnknownKey,
                key_id: None
            }
            .parts(),
            (
                "pubkey-login-failed".to_owned(),
                json!({"reason": "unknown key"})
            )
        );
        assert_eq!(
            Event::ApikeyIssue {
                family: Family::Nosession
            }
            .parts()
            .1,
            json!({"family": "nosession"})
        );
    }
}
