//! Why a request was refused: one variant per `failure_reason`, each with
//! the stable string that goes on the wire (authnzerver's where it had one),
//! so clients and tests match on variants rather than on text.

macro_rules! refusals {
    ($( $(#[doc = $doc:literal])* $variant:ident = $wire:literal, )*) => {
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Refusal {
            $( $(#[doc = $doc])* $variant, )*
            /// The action found a parameter it cannot use; the text says
            /// which and why (`invalid request: …`).
            Invalid(String),
            /// A reason this version does not know (from a newer server).
            Other(String),
        }

        impl Refusal {
            /// The `failure_reason` on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Refusal::$variant => $wire, )*
                    Refusal::Invalid(s) | Refusal::Other(s) => s,
                }
            }

            /// The variant's name (`WrongPassword`, `Invalid`…): a fixed
            /// label for logs, where the free text of `Invalid` and `Other`
            /// does not belong unescaped.
            pub fn variant(&self) -> &'static str {
                match self {
                    $( Refusal::$variant => stringify!($variant), )*
                    Refusal::Invalid(_) => "Invalid",
                    Refusal::Other(_) => "Other",
                }
            }

            /// The variant a `failure_reason` names.
            pub fn parse(s: &str) -> Refusal {
                match s {
                    $( $wire => Refusal::$variant, )*
                    s if s.starts_with("invalid request: ") => Refusal::Invalid(s.to_owned()),
                    s => Refusal::Other(s.to_owned()),
                }
            }

            /// Every fixed variant (not `Invalid` / `Other`).
            pub const FIXED: &'static [Refusal] = &[$( Refusal::$variant, )*];
        }
    };
}

impl Refusal {
    /// `invalid request: {detail}`.
    pub fn invalid(detail: impl std::fmt::Display) -> Refusal {
        Refusal::Invalid(format!("invalid request: {detail}"))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Refusal {
    fn serialize<S: serde::Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Refusal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Refusal, D::Error> {
        String::deserialize(d).map(|s| Refusal::parse(&s))
    }
}

refusals! {
    /// The request name is not in the catalogue.
    UnknownRequest = "unknown request type",
    /// The request is in the catalogue but this server has no action for it.
    NotImplemented = "not implemented",
    /// Parameters missing or of the wrong type (see `response.problems`).
    InvalidParameters = "invalid request parameters",
    /// No such account, a wrong password, or an account that may not log in (one answer for all: no enumeration).
    WrongPassword = "user does not exist or password doesn't match",
    /// Locked after repeated failures; `response.retry_after` says for how long.
    AccountLocked = "user account is locked",
    /// The session token names no live session.
    SessionNotFound = "session does not exist",
    /// The session token names no live session.
    SessionExpired = "session does not exist or expired",
    /// The session is someone else's.
    SessionNotOwned = "session does not belong to user_id",
    /// The session could not be deleted.
    SessionDeleteFailed = "delete session failed",
    /// The user had no sessions to end.
    NoSessionsToDelete = "no sessions to delete",
    /// No session with that token.
    NoSuchSession = "no such session",
    /// `ip_address` is not an IP address.
    InvalidIpAddress = "invalid ip_address",
    /// `expires` is not an ISO 8601 datetime in the future.
    InvalidExpires = "invalid expires datetime",
    /// No account with that id.
    NoSuchUser = "no such user",
    /// The address already has an account.
    UserExists = "user exists",
    /// The account could not be created.
    UserCreationFailed = "DB issue with user creation",
    /// The address is not one accounts may use.
    InvalidEmail = "invalid email",
    /// The full name is empty or too long.
    InvalidFullName = "invalid full name",
    /// The password is not acceptable.
    InvalidPassword = "invalid password",
    /// The address and password do not match an account that may be deleted.
    InvalidEmailOrPassword = "invalid email or password",
    /// Superusers cannot be deleted.
    CannotDeleteSuperuser = "can't delete superusers",
    /// The superuser, anonymous and dummy users cannot be deleted.
    CannotDeleteReserved = "can't delete the reserved users",
    /// The target of an edit does not exist.
    TargetUserNotFound = "target user not found in DB",
    /// No account with that address.
    EmailNotFound = "user email not found in DB",
    /// Another account has that address.
    EmailInUse = "email already in use",
    /// The editor's session is not valid.
    InvalidEditSession = "invalid session for edit attempt",
    /// The editor has no valid session.
    NoEditorSession = "no valid session found for originating user_id",
    /// Only superusers may lock accounts.
    LockNeedsSuperuser = "user role is not 'superuser', required to toggle locks",
    /// Nobody may lock themselves.
    CannotLockSelf = "can't toggle a lock state on self",
    /// The locking user's session is not valid.
    InvalidLockSession = "invalid session for user attempting lock toggle",
    /// `action` is neither `lock` nor `unlock`.
    InvalidLockAction = "action must be either 'lock' or 'unlock'",
    /// Anonymous and locked accounts cannot be edited.
    CannotEditReservedRole = "can't edit anonymous/locked users",
    /// No account with that address.
    EmailNotRegistered = "could not find user in DB by email",
    /// The mail-sent time could not be recorded.
    EmailSentNotUpdated = "could not update the email sent status in DB",
    /// The current password is wrong.
    PasswordMismatch = "user password does not match",
    /// The new password is the old one.
    PasswordUnchanged = "password did not change",
    /// Another request changed the password between the check and the write.
    PasswordChangedMeanwhile = "password was changed by another request",
    /// The new password breaks the policy (`messages` say how).
    PasswordInsecure = "new password is insecure",
    /// No such account, or not in the required state.
    ResetTargetInvalid = "user does not exist or is_active was not as required",
    /// The caller is unknown.
    AccessUserNotFound = "user attempting access not found",
    /// The policy does not allow it.
    ActionNotPermitted = "action not permitted",
    /// The caller is unknown, inactive or not in the role it names.
    InvalidCaller = "user initiating request is not valid",
    /// The owner or a shared-with user is unknown or inactive.
    UnknownOwnerOrShare = "users specified as owner or shared-with not found",
    /// The value is past the role's limit.
    OverLimit = "user is over limit",
    /// The role may not have API keys.
    ApikeyNotAllowed = "user not allowed to issue API key",
    /// The caller's session is not valid for a key.
    ApikeyInvalidSession = "invalid session for user requesting API key issuance",
    /// No such key.
    ApikeyNotFound = "API key not found",
    /// The key is unknown, edited, outside its validity window, or its owner changed.
    ApikeyNotVerified = "key validation failed, provided key does not match stored key or has expired",
    /// The caller may not use this key.
    ApikeyNotPermitted = "originating user is not allowed to operate on this API key",
    /// The key has no refresh token that could be used now.
    ApikeyNoRefreshToken = "provided API key has no stored refresh token, probably invalid",
    /// The caller may not issue keys.
    ApikeyIssueNotAllowed = "originating user is not allowed to issue an API key",
    /// Revoke-all needs a valid key.
    ApikeyRevokeAllNeedsValidKey = "provided API key is invalid, revoke-all operation requires a valid key to start with",
    /// The caller may not delete keys.
    ApikeyDeleteNotAllowed = "originating user is not allowed to delete API keys",
    /// The key's owner may not revoke it.
    ApikeyRevokeOldNotAllowed = "user from provided API key not allowed to revoke old key",
    /// The refresh token is wrong or spent.
    RefreshTokenMismatch = "provided refresh token does not match stored refresh token",
    /// The key's owner may not have a new key.
    ApikeyReissueNotAllowed = "user from provided API key not allowed to issue new key",
    /// The sign-up does not want a verification mail.
    VerificationNotAllowed = "not allowed to send verification email to target user, send_verification = False",
    /// No such account.
    VerificationUserMissing = "target user for verification email does not exist",
    /// The account is already verified.
    AlreadyVerified = "target user for verification email already active and verified",
    /// The session is not valid for this mail.
    VerificationInvalidSession = "invalid session for requesting a verification email",
    /// The mail server did not take the mail.
    VerificationMailFailed = "verification email could not be sent because of an email server problem",
    /// No account that may reset its password.
    ForgotpassInvalidUser = "invalid user for forgot-pass email request",
    /// A reset mail went out less than a day ago.
    ForgotpassTooSoon = "forgot-pass verification email sent less than 24 hours ago",
    /// The session is not valid for this mail.
    ForgotpassInvalidSession = "invalid session for forgot-pass request",
    /// The mail server did not take the mail.
    ForgotpassMailFailed = "forgot-pass verification email could not be sent because email server issue",
    /// The address's send window is full.
    TooManyCodesForAddress = "too many codes sent to this address; try again later",
    /// The client address's send window is full.
    TooManyCodesFromClient = "too many codes requested from this client; try again later",
    /// `redirect_url` is not an absolute `https` URL without user info on a
    /// configured domain (`forward_auth_domains`, `redirect_domains`).
    RedirectUrlInvalid = "invalid redirect url",
    /// Mail or SMS delivery failed.
    CodeNotSent = "the code could not be sent",
    /// The attempt is unknown, used, expired or ended.
    CodeOrLinkInvalid = "invalid or expired code or link",
    /// The code is wrong; the attempt goes on.
    WrongCode = "wrong code",
    /// The fifth wrong code ended the attempt.
    TooManyWrongCodes = "too many wrong codes; ask for a new one",
    /// The password was right; finish with `user-login-mfa` (`response` holds the `mfa_token`).
    SecondFactorRequired = "second factor required",
    /// The code is not the current TOTP code nor an unused recovery code.
    TotpCodeWrong = "invalid totp code",
    /// That time step's code was already accepted.
    TotpCodeReused = "totp code already used",
    /// TOTP is on already; disable it before enrolling again.
    TotpAlreadyEnabled = "totp already enabled",
    /// No enrolment is pending (or it expired): start again.
    TotpNotPending = "no totp enrolment pending",
    /// TOTP is not on for this user.
    TotpNotEnabled = "totp not enabled",
    /// The `mfa_token` is unknown, used or expired: log in again.
    MfaTokenInvalid = "invalid or expired mfa token",
    /// The account may not sign in.
    AccountCannotSignIn = "user exists but is inactive or locked",
    /// `purpose` is neither `register` nor `login`.
    PubkeyBadPurpose = "purpose must be 'register' or 'login'",
    /// No challenge with that id (never issued, or long gone).
    ChallengeUnknown = "unknown challenge",
    /// The challenge's time is up.
    ChallengeExpired = "challenge expired",
    /// The challenge was already used (it works once).
    ChallengeUsed = "challenge already used",
    /// The challenge was issued for the other purpose (register / login).
    ChallengeWrongPurpose = "challenge was issued for another purpose",
    /// The challenge was issued for another user.
    ChallengeWrongUser = "challenge was issued for another user",
    /// `public_key` or `signature` is not standard base64 with padding.
    PubkeyBadBase64 = "public key or signature is not standard base64",
    /// `public_key` does not decode to 32 bytes.
    PubkeyBadKeyLength = "public key must be 32 bytes",
    /// `signature` does not decode to 64 bytes.
    PubkeyBadSignatureLength = "signature must be 64 bytes",
    /// `public_key` is not an Ed25519 point, or one of small order.
    PubkeyWeakKey = "public key is not a valid Ed25519 key",
    /// The signature's scalar is not reduced (a malleated signature).
    PubkeyNonCanonicalSignature = "signature is not canonical",
    /// The signature does not verify under the key for this challenge.
    PubkeyBadSignature = "signature does not verify",
    /// No such device key (never registered, deleted, or another user's).
    PubkeyNotFound = "no such key",
    /// The public key is already registered.
    PubkeyExists = "public key already registered",
    /// `wait_seconds` is outside 0 to 30.
    PubkeyBadWait = "wait_seconds must be from 0 to 30",
    /// Adding a credential needs a session signed in with all the user's
    /// factors within `fresh_sign_in_window`: sign in again.
    FreshSignInRequired = "fresh sign-in required",
    /// No registered key waits for this challenge's confirmation (expired,
    /// confirmed already, or never registered).
    NothingToConfirm = "no key to confirm",
    /// Passkeys are off: no `webauthn_rp_id` (nor `portal_url`) is configured.
    PasskeysOff = "passkeys are not configured",
    /// The ceremony was finished already (a replay), or never started.
    PasskeyCeremonyUsed = "passkey ceremony already used or unknown",
    /// The ceremony's time (`webauthn_ceremony_ttl`) is up: start again.
    PasskeyCeremonyExpired = "passkey ceremony expired",
    /// The ceremony was started for something else (another kind, session or sign-in).
    PasskeyCeremonyMismatch = "passkey ceremony was started for something else",
    /// The browser ran the ceremony on an origin not in `webauthn_origins`.
    PasskeyWrongOrigin = "passkey used on an origin that is not allowed",
    /// The authenticator signed for another relying party ID.
    PasskeyWrongRpId = "passkey signed for another relying party",
    /// The response answers another challenge (a replayed assertion).
    PasskeyChallengeMismatch = "passkey response is for another challenge",
    /// The signature counter went backwards: the credential may be cloned.
    PasskeyCounterRegressed = "passkey signature counter went backwards",
    /// The authenticator did not verify its user (no PIN or biometric).
    PasskeyUserNotVerified = "passkey did not verify the user",
    /// The credential is registered to another account than the sign-in's.
    PasskeyOtherUser = "passkey belongs to another account",
    /// No such passkey (never registered, deleted, or another user's).
    PasskeyUnknown = "unknown passkey",
    /// That credential is registered already.
    PasskeyExists = "passkey already registered",
    /// The credential's backup eligibility changed since it was registered,
    /// which webauthn-rs refuses here: delete the passkey and add it again.
    PasskeyBackupChanged = "passkey backup eligibility changed",
    /// The authenticator model (AAGUID) is not in `webauthn_aaguids`.
    PasskeyModelNotAllowed = "authenticator model not allowed",
    /// The browser's response is malformed or its signature does not verify.
    PasskeyInvalid = "passkey response is invalid",
    /// No such refresh token (never issued, revoked, or malformed).
    RefreshTokenUnknown = "unknown refresh token",
    /// The refresh token's time is up: sign in again.
    RefreshTokenExpired = "refresh token expired",
    /// A spent refresh token was presented again: its family and session are revoked.
    RefreshTokenReused = "refresh token reused; session revoked",
    /// The refresh token's session is gone or expired, or its user may not sign in.
    RefreshSessionEnded = "session for this refresh token has ended",
    /// The user's role changed since the token was issued: sign in again.
    RefreshRoleChanged = "user role changed; sign in again",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_one_string_and_reads_back_as_itself() {
        let mut seen = std::collections::HashSet::new();
        for r in Refusal::FIXED {
            assert!(seen.insert(r.as_str()), "{} twice", r.as_str());
            assert_eq!(&Refusal::parse(r.as_str()), r);
        }
        assert_eq!(
            Refusal::parse("invalid request: address"),
            Refusal::Invalid("invalid request: address".into())
        );
        assert_eq!(
            Refusal::parse("something new"),
            Refusal::Other("something new".into())
        );
        assert_eq!(Refusal::invalid("x").as_str(), "invalid request: x");
    }
}
