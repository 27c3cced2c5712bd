//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of
//! drift either way): `totp-enroll-start` / `-finish` with an otpauth QR
//! code, `totp-verify`, `totp-disable`, `totp-recovery-regenerate`. The
//! login step that uses them is `mfa`; the arithmetic is `security::totp`.
//!
//! Secrets are stored Fernet-sealed under a key derived from the key ring;
//! recovery codes as keyed HMACs. A time step and a recovery code are each
//! accepted once (conditional updates); every code takes a try from the
//! account's lockout count before it is compared, as passwords do.

use std::sync::Arc;

use authnzd_proto::{self as proto, Method, Role, answers};
use entity::{totp_secrets, users};
use totp_rs::Totp;

use super::password_check;
use super::{Ctx, Done, Event, Fault, No, Refusal, Refused, Said, audit, no};
use crate::app::App;
use crate::crypto::{KeyRing, Label, Sealer};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::security::totp::{self, RECOVERY_CODES, matching_step, recovery_form, six_digits};
use crate::store;

/// A pending enrolment's life.
const ENROL_MINUTES: i64 = 10;

/// The secret sealed under the newest key.
fn seal(app: &App, secret: &[u8]) -> Result<String, Fault> {
    app.keys
        .totp_secrets
        .seal(secret)
        .ok_or_else(|| Fault::Internal("no key to seal TOTP secrets".into()))
}

/// The secret, opened with whichever key of the ring sealed it.
fn open(app: &App, sealed: &str) -> Option<Vec<u8>> {
    app.keys.totp_secrets.open(sealed).map(|o| o.plain)
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

/// Whether `user` may use the second factor at all: an account that can
/// sign in (an address changed since its verification included).
fn can_use(user: &users::Model) -> bool {
    user.is_active && user.user_role != Role::Locked && user.user_role != Role::Anonymous
}

/// The user who may use the second factor, or `no such user`.
async fn account(app: &App, user_id: i64) -> Result<users::Model, Refused> {
    match store::users::by_id(&app.db, user_id).await? {
        Some(u) if can_use(&u) => Ok(u),
        _ => no(Refusal::NoSuchUser, "No such user."),
    }
}

const NOT_PENDING: &str = "No enrolment is waiting for a code; start again.";

pub async fn enroll_start(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::TotpEnrollStart,
) -> Done<answers::TotpEnrollment> {
    let user = account(&app, p.user_id).await?;
    let secret = tokens::random_bytes::<20>()?.to_vec();
    let totp = generator(secret.clone(), &app.config.server.server_name, &user.email)?;
    let sealed = seal(&app, &secret)?;
    let now = app.now();
    if !store::totp::start_enrolment(&app.db, user.user_id, sealed, now).await? {
        return no(
            Refusal::TotpAlreadyEnabled,
            "Two-factor sign-in is already on; turn it off first.",
        );
    }
    let internal = |what: &str, e: &dyn std::fmt::Display| Fault::Internal(format!("{what}: {e}"));
    let uri = totp.to_url().map_err(|e| internal("otpauth URI", &e))?;
    let qr_png_base64 = totp.to_qr_base64().map_err(|e| internal("QR code", &e))?;
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| internal("QR code", &e))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    audit(&app, &ctx, Event::TotpEnrollStart, Some(user.user_id)).await?;
    Ok(Said::new(
        answers::TotpEnrollment {
            secret: totp_rs::Secret::from(secret).to_base32(),
            otpauth_uri: uri,
            qr_png_base64,
            qr_svg,
        },
        "Scan the code with your authenticator app, then enter the code it shows.",
    ))
}

pub async fn enroll_finish(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::TotpEnrollFinish,
) -> Done<answers::RecoveryCodes> {
    let user = account(&app, p.user_id).await?;
    let now = app.now();
    let not_before = now - chrono::Duration::minutes(ENROL_MINUTES);
    let pending = store::totp::get(&app.db, user.user_id)
        .await?
        .filter(|t| !t.enabled && t.created > not_before);
    let Some(row) = pending else {
        return no(Refusal::TotpNotPending, NOT_PENDING);
    };
    // Counted before the comparison, as every code is.
    let tries = password_check::take_code_try(&app, &user).await?;
    let step = six_digits(p.code.expose_secret()).and_then(|code| {
        let secret = open(&app, &row.secret_enc)?;
        let totp = generator(secret, "", "x").ok()?;
        matching_step(&totp, code, unix_seconds(&app))
    });
    let Some(step) = step else {
        return Err(wrong_code(&app, &ctx, &user, tries).await?);
    };
    store::users::clear_failures(app.writes(), user.user_id).await?;
    let (shown, stored) = new_recovery_codes(&app, user.user_id)?;
    if !store::totp::enable(&app.db, user.user_id, step, now, not_before, stored).await? {
        return no(Refusal::TotpNotPending, NOT_PENDING);
    }
    audit(&app, &ctx, Event::TotpEnrolled, Some(user.user_id)).await?;
    Ok(Said::new(
        answers::RecoveryCodes {
            recovery_codes: shown,
        },
        "Two-factor sign-in is on. Keep the recovery codes somewhere safe: they are shown once.",
    ))
}

/// The refusal of a wrong code whose try was taken: audited, after the
/// failure delay.
async fn wrong_code(
    app: &App,
    ctx: &Ctx,
    user: &users::Model,
    tries: i64,
) -> Result<Refused, Fault> {
    audit(app, ctx, Event::TotpWrongCode, Some(user.user_id)).await?;
    password_check::code_delay(app, tries).await;
    Ok(No::new(
        Refusal::TotpCodeWrong,
        "That code is not right. Check the time on your device.",
    )
    .into())
}

/// Proves the second factor of `user` with `code` (a TOTP code, its step
/// claimed once, or a recovery code, spent): the method it was, or the
/// refusal. A try is taken before the code is compared, from the same
/// count as passwords, so a burst of codes gets no more comparisons than
/// the tries left; a right code clears the failures.
pub(super) async fn prove(
    app: &App,
    ctx: &Ctx,
    user: &users::Model,
    code: &str,
) -> Result<Method, Refused> {
    if !can_use(user) {
        return no(Refusal::NoSuchUser, "No such user.");
    }
    let row = store::totp::get(&app.db, user.user_id)
        .await?
        .filter(|t| t.enabled);
    let Some(row) = row else {
        return no(Refusal::TotpNotEnabled, "Two-factor sign-in is not on.");
    };
    let tries = password_check::take_code_try(app, user).await?;
    let method = match check_code(app, &row, code).await? {
        Proof::Step => Method::Otp,
        Proof::Recovery => {
            audit(app, ctx, Event::TotpRecoveryCodeUsed, Some(user.user_id)).await?;
            Method::Recovery
        }
        Proof::Reused => {
            return no(
                Refusal::TotpCodeReused,
                "That code was used already; wait for the next one.",
            );
        }
        Proof::Wrong => return Err(wrong_code(app, ctx, user, tries).await?),
    };
    store::users::record_success(app.writes(), user.user_id, app.now()).await?;
    Ok(method)
}

/// The user, who proved the second factor with a current code.
async fn proven_user(
    app: &App,
    ctx: &Ctx,
    user_id: i64,
    code: &proto::Secret,
) -> Result<users::Model, Refused> {
    let user = account(app, user_id).await?;
    prove(app, ctx, &user, code.expose_secret()).await?;
    Ok(user)
}

pub async fn verify(app: Arc<App>, ctx: Ctx, p: proto::TotpVerify) -> Done<answers::Done> {
    proven_user(&app, &ctx, p.user_id, &p.code).await?;
    Ok(Said::new(answers::Done {}, "Code accepted."))
}

pub async fn disable(app: Arc<App>, ctx: Ctx, p: proto::TotpDisable) -> Done<answers::Done> {
    let user = proven_user(&app, &ctx, p.user_id, &p.code).await?;
    store::totp::disable(&app.db, user.user_id).await?;
    audit(&app, &ctx, Event::TotpDisabled, Some(user.user_id)).await?;
    Ok(Said::new(answers::Done {}, "Two-factor sign-in is off."))
}

pub async fn recovery_regenerate(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::TotpRecoveryRegenerate,
) -> Done<answers::RecoveryCodes> {
    let user = proven_user(&app, &ctx, p.user_id, &p.code).await?;
    let (shown, stored) = new_recovery_codes(&app, user.user_id)?;
    store::totp::set_recovery_codes(&app.db, user.user_id, stored).await?;
    let event = Event::TotpRecoveryRegenerated;
    audit(&app, &ctx, event, Some(user.user_id)).await?;
    Ok(Said::new(
        answers::RecoveryCodes {
            recovery_codes: shown,
        },
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
    before: &KeyRing,
    after: &KeyRing,
) -> Result<Resealed, Fault> {
    let old = Sealer::of(before, Label::TotpSecrets);
    let new = Sealer::of(after, Label::TotpSecrets);
    let mut done = Resealed::default();
    for (user_id, sealed) in store::totp::all_secrets(db).await? {
        if new.open(&sealed).is_some() {
            continue;
        }
        match old.open(&sealed) {
            Some(opened) => {
                let resealed = new
                    .seal(&opened.plain)
                    .ok_or_else(|| Fault::Internal("no key to seal TOTP secrets".into()))?;
                if store::totp::reseal(db, user_id, &sealed, resealed).await? {
                    done.resealed += 1;
                }
            }
            None => done.unreadable += 1,
        }
    }
    Ok(done)
}
