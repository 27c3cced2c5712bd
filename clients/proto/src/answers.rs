//! What successful requests answer, as the wire has it. Unknown fields are
//! ignored, so a newer server can add fields without breaking older
//! clients. `…Field` / `…List` structs are the wrappers a request answers
//! with around its value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The answer of a request that answers nothing beyond its success.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Done {}

/// Answer of `apikey-new`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// A JSON object serialised as a string: hand it to the end user as is.
    pub apikey: String,
    /// ISO 8601.
    pub expires: String,
}

/// Answer of `apikey-new-nosession` and `apikey-refresh-nosession`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyWithRefresh {
    /// A JSON object serialised as a string: hand it to the end user as is.
    pub apikey: String,
    pub expires: String,
    pub refresh_token: String,
    pub refresh_token_expires: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revoked {
    pub revoked_keys: u64,
}

impl ApiKey {
    /// The key as `apikey_dict`.
    pub fn dict(&self) -> Result<Map<String, Value>, serde_json::Error> {
        apikey_dict(&self.apikey)
    }
}

impl ApiKeyWithRefresh {
    /// The key as `apikey_dict`.
    pub fn dict(&self) -> Result<Map<String, Value>, serde_json::Error> {
        apikey_dict(&self.apikey)
    }
}

/// Parses a key as the end user presents it into the `apikey_dict` that
/// verify, revoke and refresh take.
pub fn apikey_dict(apikey: &str) -> Result<Map<String, Value>, serde_json::Error> {
    serde_json::from_str(apikey)
}

/// Answer of `user-sendemail-signup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignupMailSent {
    pub user_id: i64,
    pub email_address: String,
    pub emailverify_sent_datetime: String,
}

/// Answer of `user-sendemail-forgotpass`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForgotMailSent {
    pub user_id: i64,
    pub email_address: String,
    pub emailforgotpass_sent_datetime: String,
}

/// Answer of `user-set-emailverified`: the account, now active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailVerified {
    pub user_id: i64,
    pub is_active: bool,
    pub user_role: String,
}

/// Answer of `user-set-emailsent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailSent {
    pub user_id: i64,
    pub email: String,
    pub is_active: bool,
    pub user_role: String,
    #[serde(default)]
    pub emailverify_sent_datetime: Option<String>,
    #[serde(default)]
    pub emailforgotpass_sent_datetime: Option<String>,
}

/// Answer of `internal-session-edit`: the session without its user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: i64,
    pub session_token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub created: String,
    pub expires: String,
    #[serde(default)]
    pub extra_info_json: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecordField {
    pub session_info: SessionRecord,
}

/// Answer of `user-logout`: whose session ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedOut {
    pub user_id: i64,
}

/// Answer of `user-login`, `user-passcheck` and
/// `user-passcheck-nosession`: whose password it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedIn {
    pub user_id: i64,
    pub user_role: String,
    /// How the user signed in (`["pwd", "otp"]`); authnzerver has no such
    /// field.
    #[serde(default)]
    pub amr: crate::Amr,
}

/// Answer of `passwordless-start`: the same whether or not the address has
/// an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordlessStarted {
    pub attempt_id: String,
    pub expires: String,
    pub channel: String,
}

/// Answer of `passwordless-finish`: proceed as after `user-login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedIn {
    pub user_id: i64,
    pub user_role: String,
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// How the user signed in (`["email"]`, `["sms"]`).
    #[serde(default)]
    pub amr: crate::Amr,
}

/// Answer of `session-new`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    pub session_token: String,
    /// ISO 8601 UTC.
    pub expires: String,
}

/// Answer of `session-exists`: the session and its user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user_id: i64,
    pub user_role: String,
    pub email: String,
    pub full_name: Option<String>,
    pub email_verified: bool,
    pub is_active: bool,
    #[serde(default)]
    pub system_id: Option<String>,
    #[serde(default)]
    pub extra_info: Option<Value>,
    #[serde(default)]
    pub emailverify_sent_datetime: Option<String>,
    #[serde(default)]
    pub last_login_try: Option<String>,
    #[serde(default)]
    pub last_login_success: Option<String>,
    #[serde(default)]
    pub created_on: Option<String>,
    pub session_token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub created: String,
    pub expires: String,
    #[serde(default)]
    pub extra_info_json: Option<Value>,
    /// How the session was signed in; empty when the frontend made it
    /// without a sign-in authnzd saw (authnzerver has no such field).
    #[serde(default)]
    pub amr: crate::Amr,
    /// When that sign-in was (ISO 8601 UTC).
    #[serde(default)]
    pub auth_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfoField {
    pub session_info: SessionInfo,
}

/// Answer of `session-list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSessions {
    pub sessions: Vec<SessionSummary>,
}

/// One session as `session-list` shows it: never its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub created: String,
    pub expires: String,
    pub ip_address: String,
    pub user_agent: String,
    /// How it was signed in, and when.
    #[serde(default)]
    pub amr: crate::Amr,
    #[serde(default)]
    pub auth_time: Option<String>,
    /// The session the request's `session_token` names.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    pub deleted: u64,
}

/// Answer of `user-new`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub user_id: i64,
    pub user_email: String,
    pub system_id: String,
    /// True when the frontend should send the verification email.
    pub send_verification: bool,
}

/// A user's account as `user-list`, `user-lookup-*`, `user-edit`,
/// `user-lock` and `internal-user-*` describe it (never the password).
/// Datetimes are ISO 8601 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user_id: i64,
    pub system_id: String,
    pub full_name: Option<String>,
    pub email: String,
    pub email_verified: bool,
    pub is_active: bool,
    pub user_role: String,
    #[serde(default)]
    pub extra_info: Option<Value>,
    pub created_on: String,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub last_login_try: Option<String>,
    #[serde(default)]
    pub last_login_success: Option<String>,
    #[serde(default)]
    pub failed_login_tries: Option<i64>,
    #[serde(default)]
    pub emailverify_sent_datetime: Option<String>,
    #[serde(default)]
    pub emailforgotpass_sent_datetime: Option<String>,
    #[serde(default)]
    pub emailchangepass_sent_datetime: Option<String>,
    /// E.164, for SMS sign-in (authnzd only).
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfoField {
    pub user_info: UserInfo,
}

/// Answer of `internal-user-edit`: the account as it now is, and whether
/// the frontend should send the verification email (the address changed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfoEdited {
    pub user_info: UserInfo,
    #[serde(default)]
    pub send_verification: bool,
}

/// Answer of `internal-user-delete`: whose account went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedUser {
    #[serde(default)]
    pub user_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfoList {
    pub user_info: Vec<UserInfo>,
}

/// Answer of `user-edit`: the account as it now is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEdited {
    pub user_info: UserInfo,
    /// `Some(true)` when the edit gave the account a new, unverified
    /// address: the frontend should send the verification email. `user-edit`
    /// sends the field only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_verification: Option<bool>,
}

/// Answer of `user-delete`, `user-changepass`, `user-changepass-nosession`,
/// `user-resetpass` and `user-resetpass-nosession`: whose account it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRef {
    pub user_id: i64,
    pub email: String,
}

/// Answer of `totp-enroll-start`: what the authenticator app needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    /// Base32, for typing into an app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code: a PNG, standard base64.
    pub qr_png_base64: String,
    /// The URI as a QR code: an SVG document.
    pub qr_svg: String,
}

/// Answer of `totp-enroll-finish` and `totp-recovery-regenerate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    /// Ten single-use codes; shown once, stored only as keyed hashes.
    pub recovery_codes: Vec<String>,
}

/// The `response` of a login refused with `second factor required`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaRequired {
    pub mfa_required: bool,
    pub mfa_token: String,
    /// `totp`, `recovery_code`.
    pub methods: Vec<String>,
}

/// Answer of `pubkey-challenge-new`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PubkeyChallengeIssued {
    pub challenge_id: String,
    /// Random, standard base64; the device signs
    /// `"authnzd-pubkey-v1\n{purpose}\n{challenge_id}\n{challenge}"`.
    pub challenge: String,
    /// ISO 8601 UTC.
    pub expires: String,
    /// The server's Ed25519 public key, standard base64 (32 bytes).
    pub server_public_key: String,
    /// A JSON object serialised as a string (what a QR code shows).
    pub payload: String,
    /// The server's Ed25519 signature over `payload`'s UTF-8 bytes, standard base64.
    pub payload_signature: String,
    /// For the caller alone (never shown in the QR code): `pubkey-challenge-wait`
    /// and `pubkey-register-confirm` take it.
    pub wait_secret: crate::Secret,
}

/// Answer of `pubkey-register`: the key, pending until the browser that
/// asked confirms it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PubkeyRegistered {
    pub key_id: String,
    /// What the app shows next to the key, for the user to compare with the
    /// browser: the first 6 bytes of SHA-256 of the raw public key, hex, in
    /// groups of four (`3f2a-91bc-07de`).
    pub fingerprint: String,
    /// `pending`.
    pub status: String,
}

/// Answer of `pubkey-register-confirm`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PubkeyConfirmed {
    pub key_id: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// Answer of `pubkey-login`: the approval; the session goes to the browser
/// waiting on the challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PubkeyApproved {
    /// `approved`.
    pub status: String,
}

/// Answer of `pubkey-challenge-wait`: `status`, and what goes with it
/// (absent fields are not sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChallengeStatus {
    /// `pending`, `expired`; for a registration `registered` (a key waits
    /// for `pubkey-register-confirm`: compare its label and fingerprint) and
    /// `confirmed`; for a login `completed` (this answer carries the
    /// session, or `mfa_token` when the account wants its second factor)
    /// and `used` (the session was handed out already).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<crate::Secret>,
    /// The session's expiry, ISO 8601 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "crate::Amr::is_empty")]
    pub amr: crate::Amr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<crate::Secret>,
    /// The second factors the `mfa_token` takes (`totp`, `recovery_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// The registered key (`registered`, `confirmed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Answer of `pubkey-list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceKeys {
    pub keys: Vec<DeviceKey>,
}

/// A device key as `pubkey-list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceKey {
    pub key_id: String,
    #[serde(default)]
    pub label: Option<String>,
    pub created: String,
    #[serde(default)]
    pub last_used: Option<String>,
}

/// Answer of `passkey-register-start` and `passkey-login-start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    /// Goes back with the browser's result to the `-finish`.
    pub ceremony_id: String,
    /// What `navigator.credentials.create()` / `.get()` take: `{"publicKey":
    /// {…}}`, byte fields base64url (`PublicKeyCredential.parseCreationOptionsFromJSON`
    /// / `parseRequestOptionsFromJSON` read `publicKey`).
    pub options: Value,
    /// ISO 8601 UTC.
    pub expires: String,
}

/// Answer of `passkey-register-finish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyAdded {
    pub passkey_id: String,
    #[serde(default)]
    pub label: Option<String>,
    /// May be synced to other devices (a password manager, a platform
    /// account), and whether it is now.
    pub backup_eligible: bool,
    pub backup_state: bool,
}

/// A passkey as `passkey-list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    pub passkey_id: String,
    #[serde(default)]
    pub label: Option<String>,
    pub created: String,
    #[serde(default)]
    pub last_used: Option<String>,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

/// Answer of `passkey-list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passkeys {
    pub passkeys: Vec<PasskeyInfo>,
}

/// Answer of `token-issue` and `token-refresh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPair {
    /// A JWT signed EdDSA: verify it with the keys of `/.well-known/jwks.json`.
    pub access_token: crate::Secret,
    /// ISO 8601 UTC.
    pub access_expires: String,
    /// Opaque; present it once to `token-refresh`.
    pub refresh_token: crate::Secret,
    /// ISO 8601 UTC.
    pub refresh_expires: String,
}

/// Answer of `audit-list`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvents {
    pub events: Vec<AuditEvent>,
}

/// One security event. Client IPs are keyed digests (HMAC under a key
/// derived from the Fernet key), never addresses; details hold no emails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    /// ISO 8601 UTC, in the server's `datetime_format`.
    pub at: String,
    pub event: String,
    pub user_id: Option<i64>,
    pub ip_hash: Option<String>,
    pub detail: Value,
}
