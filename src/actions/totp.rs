//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of
//! drift either way): `totp-enroll-start` / `-finish` with an otpauth QR
//! code, `totp-verify`, `totp-disable`, `totp-recovery-regenerate`. The
//! login step that uses them is `mfa`; the arithmetic is `security::totp`.
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
use totp_rs::Totp;

use super::login::{self, Checked};
use super::{ActionResult, Ctx, Fault, Outcome, Refusal, audit};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::security::totp::{self, RECOVERY_CODES, matching_step, recovery_form, six_digits};
use crate::store;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(enroll_start),
        typed(enroll_finish),
        typed(verify),
        typed(disable),
        typed(recovery_regenerate),
    ]
}

/// A pending enrolment's life.
const ENROL_MINUTES: i64 = 10;

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
    totp::generator(secret, issuer, account).map_err(|e| Fault::Internal(format!("TOTP: {e}")))
}

fn unix_seconds(app: &App) -> u64 {
    u64::try_from(app.clock.now().timestamp()).unwrap_or(0)
}

fn recovery_hmac(app: &App, user_id: i64, code: &str) -> String {
    app.keyed(&format!("recovery\0{user_id}\0{}", recovery_form(code)))
}

/// Ten fresh codes and their HMACs.
fn new_recovery_codes(app: &App, user_id: i64) -> Result<(Vec<String>, Vec<String>), Fault> {
    let shown = (0..RECOVERY_CODES)
        .map(|_| totp::recovery_code())
        .collect::<Result<Vec<_>, _>>()?;
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
    // Codes made before a key rotation are keyed by an older ring key.
    let form = format!("recovery\0{}\0{}", row.user_id, recovery_form(code));
    for hmac in app.keyed_each(&form) {
        if store::totp::use_recovery_code(&app.db, row.user_id, &hmac, app.now()).await? {
            return Ok(Proof::Recovery);
        }
    }
    Ok(Proof::Wrong)
}

pub(super) fn refused(reason: Refusal, message: &str) -> Outcome {
    Outcome::fail(reason, message, json!({}))
}

/// The answer to a wrong code, after counting it toward the lockout.
async fn wrong_code(app: &App, ctx: &Ctx, user: &users::Model) -> ActionResult {
    audit(app, ctx, "totp-wrong-code", Some(user.user_id), json!({})).await?;
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
        return wrong_code(&app, &ctx, &user).await;
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
pub(super) async fn enabled(
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
pub(super) async fn judge(
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
        Proof::Wrong => wrong_code(app, ctx, user).await.map(Some),
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

/// The user with TOTP on who proved it with a code or the password.
async fn proven_user(
    app: &App,
    ctx: &Ctx,
    user_id: i64,
    code: Option<&proto::Secret>,
    password: Option<&proto::Secret>,
) -> Result<Result<users::Model, Outcome>, Fault> {
    let (user, row) = match enabled(app, user_id).await? {
        Ok(found) => found,
        Err(no) => return Ok(Err(no)),
    };
    Ok(match proven(app, ctx, &user, &row, code, password).await? {
        Some(no) => Err(no),
        None => Ok(user),
    })
}

pub async fn disable(app: Arc<App>, ctx: Ctx, p: proto::TotpDisable) -> ActionResult {
    let proof = proven_user(&app, &ctx, p.user_id, p.code.as_ref(), p.password.as_ref());
    let user = match proof.await? {
        Ok(u) => u,
        Err(no) => return Ok(no),
    };
    store::totp::disable(&app.db, user.user_id).await?;
    audit(&app, &ctx, "totp-disabled", Some(user.user_id), json!({})).await?;
    Ok(Outcome::ok(json!({}), "Two-factor sign-in is off."))
}

pub async fn recovery_regenerate(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::TotpRecoveryRegenerate,
) -> ActionResult {
    let proof = proven_user(&app, &ctx, p.user_id, p.code.as_ref(), p.password.as_ref());
    let user = match proof.await? {
        Ok(u) => u,
        Err(no) => return Ok(no),
    };
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

/// What `reseal_for` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    /// Sealed anew under the newest key of the ring that stays.
    pub resealed: usize,
    /// Opened by no key of either ring (left as they are).
    pub unreadable: usize,
}

/// Before a key leaves the ring (`authnzd key retire`): every TOTP secret
/// that the ring staying (`after`) cannot open, but the ring now (`before`)
/// can, is sealed anew under `after`'s newest key, so no enrolled user
/// loses the second factor with the retired key.
pub async fn reseal_for(
    db: &sea_orm::DatabaseConnection,
    before: &crate::envelope::KeyRing,
    after: &crate::envelope::KeyRing,
) -> Result<Resealed, Fault> {
    let ciphers = |ring: &crate::envelope::KeyRing| -> Vec<fernet::Fernet> {
        ring.derive_each("totp secrets")
            .iter()
            .filter_map(cipher)
            .collect()
    };
    let (old, new) = (ciphers(before), ciphers(after));
    let newest = new
        .first()
        .ok_or_else(|| Fault::Internal("no key to seal TOTP secrets".into()))?;
    let mut done = Resealed::default();
    for (user_id, sealed) in store::totp::all_secrets(db).await? {
        if new.iter().any(|f| f.decrypt(&sealed).is_ok()) {
            continue;
        }
        match old.iter().find_map(|f| f.decrypt(&sealed).ok()) {
            Some(secret) => {
                if store::totp::reseal(db, user_id, &sealed, newest.encrypt(&secret)).await? {
                    done.resealed += 1;
                }
            }
            None => done.unreadable += 1,
        }
    }
    Ok(done)
}
