//! Every request type: its name, rate-limit group, answer, one-line doc and
//! parameters with the JSON types authnzerver's `apischema.py` accepts (commit
//! 9a038e3, with the fixes of `requests.md`). `req` parameters must be
//! present (they may still be `null` where `Null` is listed); `opt` ones may
//! be left out. Adding a request type starts here.

use serde_json::{Map, Value};

use crate::Secret;
use crate::answers::*;

crate::requests! {
    /// Starts a session, anonymous unless `user_id` is set.
    SessionNew = "session-new", Session, NewSession {
        /// The end user's address, as the frontend sees it.
        ip_address: String = req[Str],
        user_agent: String = req[Str],
        /// `None` for an anonymous session.
        user_id: Option<i64> = req[Int, Null],
        /// ISO 8601, e.g. `2030-01-01T00:00:00Z`.
        expires: String = req[Str],
        extra_info_json: Option<Map<String, Value>> = req[Dict, Null],
    }
    /// The live session and its user.
    SessionExists = "session-exists", Session, SessionInfoField {
        session_token: Secret = req[Str],
    }
    /// Ends one session.
    SessionDelete = "session-delete", Session, Done {
        session_token: Secret = req[Str],
    }
    /// Ends the user's sessions, optionally all but the current one; answers how many.
    SessionDeleteUserid = "session-delete-userid", Session, Deleted {
        session_token: Secret = req[Str],
        user_id: i64 = req[Int],
        /// Spare the session `session_token` names (log out everywhere else).
        keep_current_session: bool = req[Bool],
    }
    /// The user's live sessions, newest first, without their tokens.
    SessionList = "session-list", Session, LiveSessions {
        user_id: i64 = req[Int],
        /// Marks the session this token names as `current`.
        session_token: Option<Secret> = opt[Str],
    }
    /// Logs the user out of every session but the one `session_token` names.
    SessionDeleteOthers = "session-delete-others", Session, Deleted {
        session_token: Secret = req[Str],
        user_id: i64 = req[Int],
    }
    /// Completes a login that answered `second factor required`, with a TOTP or recovery code or a passkey.
    UserLoginMfa = "user-login-mfa", User, LoggedIn {
        /// From the `user-login` (or `passwordless-finish`) answer; single use, 5 minutes.
        mfa_token: Secret = req[Str],
        /// Six digits from the app, or a recovery code.
        code: Option<Secret> = opt[Str],
        /// Instead of `code`: the `ceremony_id` of `passkey-login-start`
        /// (called with this `mfa_token`) …
        passkey_ceremony_id: Option<String> = opt[Str],
        /// … and the `navigator.credentials.get()` result, as JSON.
        passkey_credential: Option<Map<String, Value>> = opt[Dict],
    }
    /// Starts TOTP enrolment: a new secret, its otpauth URI and QR code; nothing is on yet.
    TotpEnrollStart = "totp-enroll-start", User, TotpEnrollment {
        user_id: i64 = req[Int],
    }
    /// Turns TOTP on with a first code from the app; answers ten recovery codes, shown once.
    TotpEnrollFinish = "totp-enroll-finish", User, RecoveryCodes {
        user_id: i64 = req[Int],
        code: Secret = req[Str],
    }
    /// Checks a TOTP or recovery code; each time step and each recovery code works once.
    TotpVerify = "totp-verify", User, Done {
        user_id: i64 = req[Int],
        code: Secret = req[Str],
    }
    /// Turns TOTP off, given a current code (the password alone is not enough).
    TotpDisable = "totp-disable", User, Done {
        user_id: i64 = req[Int],
        /// A TOTP or recovery code.
        code: Secret = req[Str],
    }
    /// Ten new recovery codes (the old ones stop working), given a current code.
    TotpRecoveryRegenerate = "totp-recovery-regenerate", User, RecoveryCodes {
        user_id: i64 = req[Int],
        /// A TOTP or recovery code.
        code: Secret = req[Str],
    }
    /// Checks the password of a verified, active account and ends the pre-login session.
    UserLogin = "user-login", User, LoggedIn {
        /// The visitor's current (anonymous) session; the server deletes it.
        session_token: Secret = req[Str],
        email: String = req[Str],
        password: Secret = req[Str],
        /// For an account with a second factor: a TOTP or recovery code.
        code: Option<Secret> = opt[Str],
    }
    /// Ends the user's own session.
    UserLogout = "user-logout", User, LoggedOut {
        session_token: Secret = req[Str],
        user_id: i64 = req[Int],
    }
    /// Checks the password of the session's user.
    UserPasscheck = "user-passcheck", User, LoggedIn {
        session_token: Secret = req[Str],
        password: Secret = req[Str],
        /// For an account with a second factor: a TOTP or recovery code.
        code: Option<Secret> = opt[Str],
    }
    /// Checks an address and password without a session.
    UserPasscheckNosession = "user-passcheck-nosession", User, LoggedIn {
        email: String = req[Str],
        password: Secret = req[Str],
        /// For an account with a second factor: a TOTP or recovery code.
        code: Option<Secret> = opt[Str],
    }
    /// Signs up an account, inactive until its address is verified.
    UserNew = "user-new", User, NewUser {
        full_name: String = req[Str],
        email: String = req[Str],
        password: Secret = req[Str],
        extra_info: Option<Map<String, Value>> = opt[Dict, Null],
        /// Hours after which an unverified sign-up of the same address may be
        /// replaced.
        verify_retry_wait: Option<i64> = opt[Int, Null],
        system_id: Option<String> = opt[Str, Null],
    }
    /// Sets a new password for the session's user, given the current one; logs out the other sessions.
    UserChangepass = "user-changepass", User, AccountRef {
        user_id: i64 = req[Int],
        /// A session of `user_id`.
        session_token: Secret = req[Str],
        full_name: String = req[Str],
        email: String = req[Str],
        current_password: Secret = req[Str],
        new_password: Secret = req[Str],
        /// For an account with a second factor: a TOTP or recovery code.
        code: Option<Secret> = opt[Str],
    }
    /// As `user-changepass`, for a frontend that has no session.
    UserChangepassNosession = "user-changepass-nosession", User, AccountRef {
        user_id: i64 = req[Int],
        full_name: String = req[Str],
        email: String = req[Str],
        current_password: Secret = req[Str],
        new_password: Secret = req[Str],
        /// For an account with a second factor: a TOTP or recovery code.
        code: Option<Secret> = opt[Str],
    }
    /// Deletes the caller's own account, given its password.
    UserDelete = "user-delete", User, AccountRef {
        email: String = req[Str],
        user_id: i64 = req[Int],
        password: Secret = req[Str],
        /// For an account with a second factor: a TOTP or recovery code.
        code: Option<Secret> = opt[Str],
    }
    /// One user, or all of them.
    UserList = "user-list", User, UserInfoList {
        /// `None` lists every user.
        user_id: Option<i64> = req[Int, Null],
    }
    /// The account with this address.
    UserLookupEmail = "user-lookup-email", User, UserInfoField {
        email: String = req[Str],
    }
    /// The accounts whose column `by` equals `match`.
    UserLookupMatch = "user-lookup-match", User, UserInfoList {
        /// A column: `user_id`, `system_id`, `full_name`, `email`,
        /// `user_role`, `email_verified`, `is_active`, or `extra_info` (then
        /// `match` is an object of keys that must all be equal).
        by: String = req[Str],
        /// The value to match, of the column's type.
        r#match as "match": Value = req[Any],
    }
    /// Edits the caller's own account, or any account for a superuser.
    UserEdit = "user-edit", User, UserEdited {
        /// Who edits, with their role and session.
        user_id: i64 = req[Int],
        user_role: String = req[Str],
        session_token: Secret = req[Str],
        /// Whose account. Users may edit their own `full_name` and `email`;
        /// superusers also `is_active`, `user_role`, `email_verified`.
        target_userid: i64 = req[Int],
        update_dict: Map<String, Value> = req[Dict],
    }
    /// Sets a new password after a forgot-password mail, without the current one.
    UserResetpass = "user-resetpass", User, AccountRef {
        email_address: String = req[Str],
        new_password: Secret = req[Str],
        session_token: Secret = req[Str],
    }
    /// As `user-resetpass`, for a frontend that has no session.
    UserResetpassNosession = "user-resetpass-nosession", User, AccountRef {
        email_address: String = req[Str],
        new_password: Secret = req[Str],
        /// Reset only an account whose `is_active` is this.
        required_active: bool = req[Bool],
    }
    /// Locks or unlocks an account (superusers only).
    UserLock = "user-lock", User, UserInfoField {
        /// The superuser who locks, with role and session.
        user_id: i64 = req[Int],
        user_role: String = req[Str],
        session_token: Secret = req[Str],
        target_userid: i64 = req[Int],
        /// `lock` or `unlock`.
        action: String = req[Str],
        /// With `unlock`: the role to give back (`superuser`, `staff`,
        /// `authenticated`); without it, `authenticated`.
        restore_role: Option<String> = opt[Str],
    }
    /// Checks a candidate password against the policy without storing it; limits left out are the server's.
    UserValidatepass = "user-validatepass", User, Done {
        password: Secret = req[Str],
        email: String = req[Str],
        full_name: String = req[Str],
        min_pass_length: Option<i64> = opt[Int],
        max_unsafe_similarity: Option<i64> = opt[Int],
        max_character_frequency: Option<f64> = opt[Float],
        min_pwned_matches: Option<i64> = opt[Int],
    }
    /// Mails the verification link for a new account; the `email*` fields override the server's mail settings for this message.
    UserSendemailSignup = "user-sendemail-signup", User, SignupMailSent {
        email_address: String = req[Str],
        session_token: Secret = req[Str],
        /// What `user-new` answered, as an object.
        created_info: Map<String, Value> = req[Dict],
        server_name: String = req[Str],
        server_baseurl: String = req[Str],
        /// The verification page (authnzerver's schema name);
        /// `account_verify_url` is accepted too.
        server_verify_url: Option<String> = opt[Str],
        account_verify_url: Option<String> = opt[Str],
        /// The token the frontend generated and will check on that page.
        verification_token: Secret = req[Str],
        /// Seconds the token stays valid.
        verification_expiry: i64 = req[Int],
        emailuser: Option<String> = opt[Str, Null],
        emailpass: Option<Secret> = opt[Str, Null],
        emailserver: Option<String> = opt[Str],
        emailport: Option<i64> = opt[Int],
        emailsender: Option<String> = opt[Str],
    }
    /// Mails the password-reset token, at most once a day per account.
    UserSendemailForgotpass = "user-sendemail-forgotpass", User, ForgotMailSent {
        email_address: String = req[Str],
        session_token: Secret = req[Str],
        server_name: String = req[Str],
        server_baseurl: String = req[Str],
        password_forgot_url: String = req[Str],
        verification_token: Secret = req[Str],
        /// Seconds the token stays valid.
        verification_expiry: i64 = req[Int],
        emailuser: Option<String> = opt[Str, Null],
        emailpass: Option<Secret> = opt[Str, Null],
        emailserver: Option<String> = opt[Str],
        emailport: Option<i64> = opt[Int],
        emailsender: Option<String> = opt[Str],
    }
    /// Marks the address verified and activates a pending sign-up.
    UserSetEmailverified = "user-set-emailverified", User, EmailVerified {
        email: String = req[Str],
    }
    /// Records that the frontend sent a sign-up or reset mail itself.
    UserSetEmailsent = "user-set-emailsent", User, EmailSent {
        email: String = req[Str],
        /// `signup` or `forgotpass`.
        email_type: String = req[Str],
    }
    /// Issues an API key for the session's user, valid as long as that session lives.
    ApikeyNew = "apikey-new", Apikey, ApiKey {
        issuer: String = req[Str],
        audience: String = req[Str],
        subject: String = req[Str],
        /// A string or an integer.
        apiversion: Value = req[Str, Int],
        expires_days: i64 = req[Int],
        /// Seconds from now before the key is valid.
        not_valid_before: f64 = req[Float, Int],
        user_id: i64 = req[Int],
        user_role: String = req[Str],
        ip_address: String = req[Str],
        user_agent: String = req[Str],
        session_token: Secret = req[Str],
    }
    /// Whether a session-bound API key is valid.
    ApikeyVerify = "apikey-verify", Apikey, Done {
        /// The key as the end user presented it, parsed.
        apikey_dict: Map<String, Value> = req[Dict],
        /// Who asks.
        user_id: i64 = req[Int],
        user_role: String = req[Str],
    }
    /// Revokes a session-bound API key.
    ApikeyRevoke = "apikey-revoke", Apikey, Done {
        /// The key as the end user presented it, parsed.
        apikey_dict: Map<String, Value> = req[Dict],
        /// Who asks.
        user_id: i64 = req[Int],
        user_role: String = req[Str],
    }
    /// Issues an API key with its own refresh token, independent of any session.
    ApikeyNewNosession = "apikey-new-nosession", Apikey, ApiKeyWithRefresh {
        issuer: String = req[Str],
        audience: String = req[Str],
        subject: String = req[Str],
        /// A string or an integer.
        apiversion: Value = req[Str, Int],
        expires_seconds: i64 = req[Int],
        /// Seconds from now before the key is valid.
        not_valid_before: f64 = req[Float, Int],
        user_id: i64 = req[Int],
        user_role: String = req[Str],
        ip_address: String = req[Str],
        /// Seconds the refresh token lives.
        refresh_expires: i64 = req[Int],
        /// Seconds from now before the refresh token is valid.
        refresh_nbf: f64 = req[Float, Int],
    }
    /// Whether a session-less API key is valid.
    ApikeyVerifyNosession = "apikey-verify-nosession", Apikey, Done {
        /// The key as the end user presented it, parsed.
        apikey_dict: Map<String, Value> = req[Dict],
        /// Who asks.
        user_id: i64 = req[Int],
        user_role: String = req[Str],
    }
    /// Revokes one session-less API key.
    ApikeyRevokeNosession = "apikey-revoke-nosession", Apikey, Done {
        /// The key as the end user presented it, parsed.
        apikey_dict: Map<String, Value> = req[Dict],
        /// Who asks.
        user_id: i64 = req[Int],
        user_role: String = req[Str],
    }
    /// Revokes every session-less API key of the key's owner.
    ApikeyRevokeallNosession = "apikey-revokeall-nosession", Apikey, Revoked {
        /// The key as the end user presented it, parsed.
        apikey_dict: Map<String, Value> = req[Dict],
        /// Who asks.
        user_id: i64 = req[Int],
        user_role: String = req[Str],
    }
    /// Swaps a session-less key and its refresh token for new ones (the refresh token is spent).
    ApikeyRefreshNosession = "apikey-refresh-nosession", Apikey, ApiKeyWithRefresh {
        /// The old key (it may have expired), parsed.
        apikey_dict: Map<String, Value> = req[Dict],
        user_id: i64 = req[Int],
        user_role: String = req[Str],
        /// The old key's refresh token; spent by this call.
        refresh_token: Secret = req[Str],
        ip_address: String = req[Str],
        expires_seconds: i64 = req[Int],
        not_valid_before: f64 = req[Int, Float],
        refresh_expires: i64 = req[Int],
        refresh_nbf: f64 = req[Int, Float],
        /// The new key's `iss`, `aud`, `sub` and `ver`. A key imported from
        /// authnzerver recorded none of its claims, so its first refresh
        /// needs all four; a later key keeps its own and ignores these.
        issuer: Option<String> = opt[Str],
        audience: Option<String> = opt[Str],
        subject: Option<String> = opt[Str],
        apiversion: Option<Value> = opt[Str, Int],
    }
    /// Whether the policy lets this user do `action` to this item.
    UserCheckAccess = "user-check-access", User, Done {
        user_id: i64 = req[Int],
        user_role: String = req[Str],
        /// `create`, `view`, `list`, `edit`, `delete`, `change_owner`… as the
        /// policy names them.
        action: String = req[Str],
        /// The item type, as the policy names it.
        target_name: String = req[Str],
        target_owner: i64 = req[Int],
        /// `private`, `shared` or `public`.
        target_visibility: String = req[Str],
        /// Comma-separated user ids the item is shared with (may be empty).
        target_sharedwith: String = req[Str],
    }
    /// Whether the user is within the role's limit named `limit_name`.
    UserCheckLimit = "user-check-limit", User, Done {
        user_id: i64 = req[Int],
        user_role: String = req[Str],
        limit_name: String = req[Str],
        value_to_check: Value = req[Any],
    }
    /// Locks or unlocks any account (trusted frontends).
    InternalUserLock = "internal-user-lock", Internal, UserInfoField {
        target_userid: i64 = req[Int],
        /// `lock` or `unlock`.
        action: String = req[Str],
        /// With `unlock`: the role to give back; without it, `authenticated`.
        restore_role: Option<String> = opt[Str],
    }
    /// Deletes any account and its sessions (trusted frontends).
    InternalUserDelete = "internal-user-delete", Internal, DeletedUser {
        target_userid: i64 = req[Int],
    }
    /// Edits any account (trusted frontends).
    InternalUserEdit = "internal-user-edit", Internal, UserInfoEdited {
        target_userid: i64 = req[Int],
        /// Columns to set; `extra_info` is merged, a value `"__delete__"`
        /// removing its key.
        update_dict: Map<String, Value> = req[Dict],
    }
    /// Edits a session's `extra_info_json` (trusted frontends).
    InternalSessionEdit = "internal-session-edit", Internal, SessionRecordField {
        target_session_token: Secret = req[Str],
        /// `extra_info_json` is merged as for `internal-user-edit`.
        update_dict: Map<String, Value> = req[Dict],
    }
    /// Security events from the audit log, newest first (trusted frontends).
    AuditList = "audit-list", Internal, AuditEvents {
        /// Only this user's events.
        user_id: Option<i64> = opt[Int, Null],
        /// Only events of this name (`login-failed`, `account-locked`…).
        event: Option<String> = opt[Str, Null],
        /// ISO 8601: only events at or after it.
        since: Option<String> = opt[Str, Null],
        /// At most this many (1 to 1000; 100 when left out).
        limit: Option<i64> = opt[Int, Null],
    }
    /// Sends a one-time code (and, by email, a link) to an address.
    PasswordlessStart = "passwordless-start", Ipaddr, PasswordlessStarted {
        /// `email` or `sms`.
        channel: String = req[Str],
        /// An email address, or a phone number.
        address: String = req[Str],
        /// Create the account on first success (email only).
        create_user: Option<bool> = opt[Bool],
        /// Handed back by `passwordless-finish`.
        redirect_url: Option<String> = opt[Str, Null],
    }
    /// Checks a one-time code (`attempt_id` with `code`) or a link (`link_token` alone) and signs the user in.
    PasswordlessFinish = "passwordless-finish", Ipaddr, SignedIn {
        /// With `code`; or with `link_token`, the link then works only for this attempt (the browser that asked).
        attempt_id: Option<String> = opt[Str],
        code: Option<Secret> = opt[Str],
        link_token: Option<Secret> = opt[Str],
        /// The visitor's current (anonymous) session, ended as `user-login`
        /// ends it.
        session_token: Option<Secret> = opt[Str],
    }
    /// A single-use challenge for a device key to sign, to register the key or to log in.
    PubkeyChallengeNew = "pubkey-challenge-new", Pubkey, PubkeyChallengeIssued {
        /// `register` or `login`.
        purpose: String = req[Str],
        /// `login`: only this user's key may approve it.
        user_id: Option<i64> = opt[Int, Null],
        /// `register`: the user's session, signed in with all their factors
        /// within `fresh_sign_in_window`; the key is added to its user.
        session_token: Option<Secret> = opt[Str],
        /// The browser asking, as the approving app shows it (and the
        /// session of an approved login records it); the request's
        /// `client_ipaddr` when left out.
        ip_address: Option<String> = opt[Str],
        user_agent: Option<String> = opt[Str],
    }
    /// Registers a device's Ed25519 public key, signed over a register challenge; pending until the browser confirms it.
    PubkeyRegister = "pubkey-register", Pubkey, PubkeyRegistered {
        challenge_id: String = req[Str],
        /// Must be the challenge's user when given.
        user_id: Option<i64> = opt[Int, Null],
        /// Standard base64 of the 32-byte key.
        public_key: String = req[Str],
        /// Standard base64 of the 64-byte signature.
        signature: String = req[Str],
        label: Option<String> = opt[Str, Null],
    }
    /// The browser that asked confirms the key its wait showed; the key can log in from now on.
    PubkeyRegisterConfirm = "pubkey-register-confirm", Pubkey, PubkeyConfirmed {
        challenge_id: String = req[Str],
        /// From `pubkey-challenge-new`'s answer (never in the QR code).
        wait_secret: Secret = req[Str],
    }
    /// Approves a login challenge with a device key's signature; the session goes to the browser waiting on it.
    PubkeyLogin = "pubkey-login", Pubkey, PubkeyApproved {
        challenge_id: String = req[Str],
        key_id: String = req[Str],
        /// Standard base64 of the 64-byte signature.
        signature: String = req[Str],
    }
    /// Waits until the challenge is completed or expires, at most `wait_seconds` (up to 30); an approved login's session comes with it, once.
    PubkeyChallengeWait = "pubkey-challenge-wait", Pubkey, ChallengeStatus {
        challenge_id: String = req[Str],
        /// From `pubkey-challenge-new`'s answer (never in the QR code).
        wait_secret: Secret = req[Str],
        wait_seconds: i64 = req[Int],
    }
    /// The user's device keys, without secrets.
    PubkeyList = "pubkey-list", Pubkey, DeviceKeys {
        user_id: i64 = req[Int],
    }
    /// Deletes one of the user's device keys; it cannot log in any more.
    PubkeyDelete = "pubkey-delete", Pubkey, Done {
        user_id: i64 = req[Int],
        key_id: String = req[Str],
    }
    /// Renames one of the user's confirmed device keys (a blank label clears it).
    PubkeyRename = "pubkey-rename", Pubkey, Done {
        user_id: i64 = req[Int],
        key_id: String = req[Str],
        label: Option<String> = opt[Str],
    }
    /// Starts adding a passkey to the session's user: the options for `navigator.credentials.create()`.
    PasskeyRegisterStart = "passkey-register-start", Pubkey, PasskeyCeremony {
        /// The user's session, signed in with all their factors within
        /// `fresh_sign_in_window`; the passkey is added to its user.
        session_token: Secret = req[Str],
    }
    /// Finishes adding a passkey with the browser's `navigator.credentials.create()` result.
    PasskeyRegisterFinish = "passkey-register-finish", Pubkey, PasskeyAdded {
        ceremony_id: String = req[Str],
        /// The session that started it.
        session_token: Secret = req[Str],
        /// The `PublicKeyCredential` as JSON (`credential.toJSON()`: byte
        /// fields base64url).
        credential: Map<String, Value> = req[Dict],
        label: Option<String> = opt[Str, Null],
    }
    /// Starts a passkey sign-in: username-first with `email`, discoverable without, the second step with `mfa_token`.
    PasskeyLoginStart = "passkey-login-start", Pubkey, PasskeyCeremony {
        /// The account's address; the options then list its passkeys.
        email: Option<String> = opt[Str, Null],
        /// From a `second factor required` answer: a passkey as the second
        /// step, finished with `user-login-mfa`.
        mfa_token: Option<Secret> = opt[Str],
    }
    /// Finishes a passkey sign-in with the browser's `navigator.credentials.get()` result; proceed as after `user-login`.
    PasskeyLoginFinish = "passkey-login-finish", Pubkey, LoggedIn {
        ceremony_id: String = req[Str],
        /// The `PublicKeyCredential` as JSON (`credential.toJSON()`).
        credential: Map<String, Value> = req[Dict],
        /// The visitor's current (anonymous) session, ended as `user-login`
        /// ends it.
        session_token: Option<Secret> = opt[Str],
    }
    /// The user's passkeys, without their keys.
    PasskeyList = "passkey-list", Pubkey, Passkeys {
        user_id: i64 = req[Int],
    }
    /// Renames one of the user's passkeys (a blank label clears it).
    PasskeyRename = "passkey-rename", Pubkey, Done {
        user_id: i64 = req[Int],
        passkey_id: String = req[Str],
        label: Option<String> = opt[Str, Null],
    }
    /// Deletes one of the user's passkeys; it cannot sign in any more.
    PasskeyDelete = "passkey-delete", Pubkey, Done {
        user_id: i64 = req[Int],
        passkey_id: String = req[Str],
    }
    /// Issues an access JWT (EdDSA) and a refresh token for a live session.
    TokenIssue = "token-issue", Token, TokenPair {
        session_token: Secret = req[Str],
    }
    /// A new token pair for a refresh token; the presented one is spent (rotation).
    TokenRefresh = "token-refresh", Token, TokenPair {
        refresh_token: Secret = req[Str],
    }
    /// Revokes the refresh token's whole family; its access tokens run out by themselves.
    TokenRevoke = "token-revoke", Token, Done {
        refresh_token: Secret = req[Str],
    }
}
