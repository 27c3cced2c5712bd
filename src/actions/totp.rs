//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of
//! drift either way): `totp-enroll-start` / `-finish` with an otpauth QR
//! code, `totp-verify`, `totp-disable`, `totp-recovery-regenerate`, and the
//! `user-login-mfa` step that completes a login which answered `second
//! factor required`.
//!
//! Secrets are stored Fernet-sealed under a key derived from the key ring;
//! recovery codes as keyed HMACs. A time step and a recovery code are each
//! accepted once (conditional updates); wrong codes count toward the
//! account's lockout like wrong passwords.

use std::sync::Arc;

use authnzd_proto::{self as proto, Role};
use base64::Engine as _;
use entity::{totp_secrets, users};
use serde_json::json;
use totp_rs::{Algorithm, Builder, Totp};

use super::login::{self, Checked};
use super::{ActionResult, Ctx, Fault, Outcome, Refusal, audit};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(enroll_start),
        typed(enroll_finish),
        typed(verify),
        typed(disable),
        typed(recovery_regenerate),
        typed(login_mfa),
    ]
}

const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// A pending enrolment's life.
const ENROL_MINUTES: i64 = 10;
/// A pending second-factor login's life.
const MFA_MINUTES: i64 = 5;
const RECOVERY_CODES: usize = 10;
/// Recovery codes: 10 characters from an alphabet without look-alikes.
const RECOVERY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn cipher(key: &[u8; 32]) -> Option<fernet::Fernet> {
    fernet::Fernet::new(&base64::engine::general_purpose::URL_SAFE.encode(key))
}

/// The secret sealed under the newest key.
fn seal(app: &App, secret: &[u8]) -> Result<String, Fault> {
    app.totp_keys
        .first()
        .and_then(|k| cipher(k.expose_secret()))
        .map(|f| f.encrypt(secret))
        .ok_or_else(|| Fault::Internal("no key to seal TOTP secrets".into()))
}

/// The secret, opened with whichever key of the ring sealed it.
fn open(app: &App, sealed: &str) -> Option<Vec<u8>> {
    app.totp_keys
        .iter()
        .filter_map(|k| cipher(k.expose_secret()))
        .find_map(|f| f.decrypt(sealed).ok())
}

fn generator(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Totp, Fault> {
    // `otpauth` labels use ':' as the separator; keep it out of both parts.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| Fault::Internal(format!("TOTP: {e}")))
}

fn unix_seconds(app: &App) -> u64 {
    u64::try_from(app.clock.now().timestamp()).unwrap_or(0)
}

/// The time step whose code `code` is (the current one or either
/// neighbour; totp-rs compares in constant time).
fn matching_step(totp: &Totp, code: &str, now: u64) -> Option<i64> {
    totp.check(code, now).and_then(|s| i64::try_from(s).ok())
}

fn six_digits(code: &str) -> Option<&str> {
    let code = code.trim();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// A recovery code as stored: upper case, without separators.
fn recovery_form(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn recovery_hmac(app: &App, user_id: i64, code: &str) -> String {
    app.keyed(&format!("recovery\0{user_id}\0{}", recovery_form(code)))
}

/// Ten fresh codes (`XXXXX-XXXXX`) and their HMACs.
fn new_recovery_codes(app: &App, user_id: i64) -> Result<(Vec<String>, Vec<String>), Fault> {
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let bytes = tokens::random_bytes::<10>()?;
        let chars: String = bytes
            .iter()
            .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
            .collect();
        shown.push(format!("{}-{}", &chars[..5], &chars[5..]));
    }
    let stored = shown
        .iter()
        .map(|c| recovery_hmac(app, user_id, c))
        .collect();
    Ok((shown, stored))
}

/// What a code proved.
enum Proof {
    Step,
    Recovery,
    Reused,
    Wrong,
}

/// Checks a TOTP code (its step claimed once) or a recovery code (spent).
async fn check_code(app: &App, row: &totp_secrets::Model, code: &str) -> Result<Proof, Fault> {
    if let Some(code) = six_digits(code) {
        let Some(secret) = open(app, &row.secret_enc) else {
            return Ok(Proof::Wrong);
        };
        let totp = generator(secret, "", "x")?;
        let Some(step) = matching_step(&totp, code, unix_seconds(app)) else {
            return Ok(Proof::Wrong);
        };
        return Ok(
            if store::totp::claim_step(&app.db, row.user_id, step).await? {
                Proof::Step
            } else {
                Proof::Reused
            },
        );
    }
    let hmac = recovery_hmac(app, row.user_id, code);
    Ok(
        if store::totp::use_recovery_code(&app.db, row.user_id, &hmac, app.now()).await? {
            Proof::Recovery
        } else {
            Proof::Wrong
        },
    )
}

fn refused(reason: Refusal, message: &str) -> Outcome {
    Outcome::fail(reason, message, json!({}))
}

/// The answer to a wrong code, after counting it toward the lockout.
async fn wrong_code(app: &App, user: &users::Model) -> ActionResult {
    Ok(match login::count_failure(app, user).await? {
        locked @ Checked::Locked { .. } => locked.failure(),
        _ => refused(
            Refusal::TotpCodeWrong,
            "That code is not right. Check the time on your device.",
        ),
    })
}

/// Whether `user` may use the second factor at all (an account that can
/// log in).
fn can_use(user: &users::Model) -> bool {
    user.is_active
        && user.email_verified
        && user.user_role != Role::Locked
        && user.user_role != Role::Anonymous
}

async fn account(app: &App, user_id: i64) -> Result<Option<users::Model>, Fault> {
    Ok(store::users::by_id(&app.db, user_id).await?.filter(can_use))
}

fn no_user() -> Outcome {
    refused(Refusal::NoSuchUser, "No such user.")
}

pub async fn enroll_start(app: Arc<App>, ctx: Ctx, p: proto::TotpEnrollStart) -> ActionResult {
    let Some(user) = account(&app, p.user_id).await? else {
        return Ok(no_user());
    };
    let secret = tokens::random_bytes::<20>()?.to_vec();
    let totp = generator(secret.clone(), &app.config.server.server_name, &user.email)?;
    let sealed = seal(&app, &secret)?;
    let now = app.now();
    if !store::totp::start_enrolment(&app.db, user.user_id, sealed, now).await? {
        return Ok(refused(
            Refusal::TotpAlreadyEnabled,
            "Two-factor sign-in is already on; turn it off first.",
        ));
    }
    let uri = totp
        .to_url()
        .map_err(|e| Fault::Internal(format!("otpauth URI: {e}")))?;
    let png = totp
        .to_qr_base64()
        .map_err(|e| Fault::Internal(format!("QR code: {e}")))?;
    let svg = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| Fault::Internal(format!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    audit(
        &app,
        &ctx,
        "totp-enroll-start",
        Some(user.user_id),
        json!({}),
    )
    .await?;
    Ok(Outcome::ok(
        json!({"secret": totp_rs::Secret::from(secret).to_base32(), "otpauth_uri": uri,
               "qr_png_base64": png, "qr_svg": svg}),
        "Scan the code with your authenticator app, then enter the code it shows.",
    ))
}

pub async fn enroll_finish(app: Arc<App>, ctx: Ctx, p: proto::TotpEnrollFinish) -> ActionResult {
    let Some(user) = account(&app, p.user_id).await? else {
        return Ok(no_user());
    };
    let now = app.now();
    let not_before = now - chrono::Duration::minutes(ENROL_MINUTES);
    let pending = store::totp::get(&app.db, user.user_id)
        .await?
        .filter(|t| !t.enabled && t.created > not_before);
    let Some(row) = pending else {
        return Ok(refused(
            Refusal::TotpNotPending,
            "No enrolment is waiting for a code; start again.",
        ));
    };
    let step = six_digits(p.code.expose_secret()).and_then(|code| {
        let secret = open(&app, &row.secret_enc)?;
        let totp = generator(secret, "", "x").ok()?;
        matching_step(&totp, code, unix_seconds(&app))
    });
    let Some(step) = step else {
        return wrong_code(&app, &user).await;
    };
    let (shown, stored) = new_recovery_codes(&app, user.user_id)?;
    if !store::totp::enable(&app.db, user.user_id, step, now, not_before, stored).await? {
        return Ok(refused(
            Refusal::TotpNotPending,
            "No enrolment is waiting for a code; start again.",
        ));
    }
    audit(&app, &ctx, "totp-enrolled", Some(user.user_id), json!({})).await?;
    Ok(Outcome::ok(
        json!({"recovery_codes": shown}),
        "Two-factor sign-in is on. Keep the recovery codes somewhere safe: they are shown once.",
    ))
}

/// The enabled TOTP row of a user who may use it, or the refusal.
async fn enabled(
    app: &App,
    user_id: i64,
) -> Result<Result<(users::Model, totp_secrets::Model), Outcome>, Fault> {
    let Some(user) = account(app, user_id).await? else {
        return Ok(Err(no_user()));
    };
    if let Some(until) = app.lockout.locked_until(&user, app.now()) {
        return Ok(Err(login::locked(until, app.now()).failure()));
    }
    match store::totp::get(&app.db, user_id).await? {
        Some(row) if row.enabled => Ok(Ok((user, row))),
        _ => Ok(Err(refused(
            Refusal::TotpNotEnabled,
            "Two-factor sign-in is not on.",
        ))),
    }
}

/// The answer to a code, or `None` when it was accepted.
async fn judge(
    app: &App,
    ctx: &Ctx,
    user: &users::Model,
    row: &totp_secrets::Model,
    code: &str,
) -> Result<Option<Outcome>, Fault> {
    match check_code(app, row, code).await? {
        Proof::Step => Ok(None),
        Proof::Recovery => {
            audit(
                app,
                ctx,
                "totp-recovery-code-used",
                Some(user.user_id),
                json!({}),
            )
            .await?;
            Ok(None)
        }
        Proof::Reused => Ok(Some(refused(
            Refusal::TotpCodeReused,
            "That code was used already; wait for the next one.",
        ))),
        Proof::Wrong => wrong_code(app, user).await.map(Some),
    }
}

pub async fn verify(app: Arc<App>, ctx: Ctx, p: proto::TotpVerify) -> ActionResult {
    let (user, row) = match enabled(&app, p.user_id).await? {
        Ok(found) => found,
        Err(no) => return Ok(no),
    };
    if let Some(no) = judge(&app, &ctx, &user, &row, p.code.expose_secret()).await? {
        return Ok(no);
    }
    Ok(Outcome::ok(json!({}), "Code accepted."))
}

/// A TOTP or recovery code, or else the password; `None` when it holds.
async fn proven(
    app: &App,
    ctx: &Ctx,
    user: &users::Model,
    row: &totp_secrets::Model,
    code: Option<&proto::Secret>,
    password: Option<&proto::Secret>,
) -> Result<Option<Outcome>, Fault> {
    if let Some(code) = code {
        return judge(app, ctx, user, row, code.expose_secret()).await;
    }
    let Some(password) = password else {
        return Ok(Some(refused(
            Refusal::ProofRequired,
            "Enter a code from your app or your password.",
        )));
    };
    let checked =
        login::check_password(app, Some(user.clone()), None, password.expose_secret()).await?;
    Ok(match checked {
        Checked::Ok(_) => None,
        other => Some(other.failure()),
    })
}

pub async fn disable(app: Arc<App>, ctx: Ctx, p: proto::TotpDisable) -> ActionResult {
    let (user, row) = match enabled(&app, p.user_id).await? {
        Ok(found) => found,
        Err(no) => return Ok(no),
    };
    if let Some(no) = proven(
        &app,
        &ctx,
        &user,
        &row,
        p.code.as_ref(),
        p.password.as_ref(),
    )
    .await?
    {
        return Ok(no);
    }
    store::totp::disable(&app.db, user.user_id).await?;
    audit(&app, &ctx, "totp-disabled", Some(user.user_id), json!({})).await?;
    Ok(Outcome::ok(json!({}), "Two-factor sign-in is off."))
}

pub async fn recovery_regenerate(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::TotpRecoveryRegenerate,
) -> ActionResult {
    let (user, row) = match enabled(&app, p.user_id).await? {
        Ok(found) => found,
        Err(no) => return Ok(no),
    };
    if let Some(no) = proven(
        &app,
        &ctx,
        &user,
        &row,
        p.code.as_ref(),
        p.password.as_ref(),
    )
    .await?
    {
        return Ok(no);
    }
    let (shown, stored) = new_recovery_codes(&app, user.user_id)?;
    store::totp::set_recovery_codes(&app.db, user.user_id, stored).await?;
    audit(
        &app,
        &ctx,
        "totp-recovery-regenerated",
        Some(user.user_id),
        json!({}),
    )
    .await?;
    Ok(Outcome::ok(
        json!({"recovery_codes": shown}),
        "New recovery codes; the old ones no longer work.",
    ))
}

/// Whether the user's logins need the second factor.
pub async fn required(app: &App, user_id: i64) -> Result<bool, Fault> {
    Ok(store::totp::is_enabled(&app.db, user_id).await?)
}

/// The answer to a first factor that succeeded for a user with TOTP on: no
/// session yet, a single-use `mfa_token` bound to the user and the
/// pre-login session instead. A frontend that does not know MFA sees a
/// refusal and so never logs the user in.
pub async fn second_factor_required(
    app: &App,
    user: &users::Model,
    session_hash: Option<String>,
) -> ActionResult {
    let token = tokens::new_token()?;
    let now = app.now();
    let expires = now + chrono::Duration::minutes(MFA_MINUTES);
    store::totp::insert_mfa_token(
        &app.db,
        tokens::digest(&token),
        user.user_id,
        session_hash,
        now,
        expires,
    )
    .await?;
    Ok(Outcome::fail(
        Refusal::SecondFactorRequired,
        "Enter the code from your authenticator app.",
        json!({"user_id": null, "mfa_required": true, "mfa_token": token,
               "methods": ["totp", "recovery_code"]}),
    ))
}

pub async fn login_mfa(app: Arc<App>, ctx: Ctx, p: proto::UserLoginMfa) -> ActionResult {
    let invalid = || {
        refused(
            Refusal::MfaTokenInvalid,
            "This sign-in has expired; please log in again.",
        )
    };
    let now = app.now();
    let token_hash = tokens::digest(p.mfa_token.expose_secret());
    let Some(pending) = store::totp::take_mfa_token(&app.db, &token_hash, now).await? else {
        return Ok(invalid());
    };
    // Bound to the pre-login session: ended since, the login is over.
    if let Some(session) = &pending.session_hash
        && super::session::live_session_by_digest(&app, session.clone())
            .await?
            .is_none()
    {
        return Ok(invalid());
    }
    let (user, row) = match enabled(&app, pending.user_id).await? {
        Ok(found) => found,
        Err(_) => return Ok(invalid()),
    };
    if let Some(no) = judge(&app, &ctx, &user, &row, p.code.expose_secret()).await? {
        return Ok(no);
    }
    store::users::record_success(&app.db, user.user_id, now).await?;
    app.sessions.invalidate_user(user.user_id).await;
    if let Some(session) = pending.session_hash {
        store::sessions::delete(&app.db, &session).await?;
        app.sessions.invalidate_session(&session).await;
    }
    audit(&app, &ctx, "mfa-login", Some(user.user_id), json!({})).await?;
    Ok(Outcome::ok(
        json!({"user_id": user.user_id, "user_role": user.user_role}),
        "Login successful.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_neighbouring_steps_match_and_others_do_not() {
        let totp = generator(vec![7; 20], "authnzd", "a@example.org").unwrap();
        let now = 1_800_000_015;
        let step = now / STEP_SECONDS;
        for s in [step - 1, step, step + 1] {
            let code = totp.generate(s * STEP_SECONDS).to_string();
            assert_eq!(matching_step(&totp, &code, now), Some(s as i64));
        }
        let far = totp.generate((step + 3) * STEP_SECONDS).to_string();
        assert_ne!(matching_step(&totp, &far, now), Some((step + 3) as i64));
    }

    #[test]
    fn only_six_digits_are_taken_as_totp_codes() {
        assert_eq!(six_digits(" 123456 "), Some("123456"));
        for bad in ["12345", "1234567", "12345a", "１２３４５６", ""] {
            assert_eq!(six_digits(bad), None, "{bad}");
        }
        assert_eq!(recovery_form("abcde-FGH2j"), "ABCDEFGH2J");
    }
}
