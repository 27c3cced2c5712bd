//! The app approves a login (`pubkey-login`); the browser that asked waits
//! for it (`pubkey-challenge-wait`) and takes the session, once.

use std::sync::Arc;
use std::time::Duration;

use authnzd_proto::{self as proto, Amr, Method, answers};
use entity::pubkey_challenges as challenges;

use super::{held_challenge, usable_challenge, why_not_spent};
use crate::actions::{Ctx, Done, Event, Refusal, Said, audit, can_sign_in, no};
use crate::app::App;
use crate::event::KeyFailure;
use crate::secret::ExposeSecret;
use crate::security::device_keys::{
    Purpose, decode_public_key, decode_signature, fingerprint, signed_message,
};
use crate::security::tokens;
use crate::store;
use crate::timefmt;

/// The longest `pubkey-challenge-wait`.
const WAIT_MAX_SECONDS: i64 = 30;
/// How often a waiter re-reads its challenge (completions by other processes).
const RECHECK: Duration = Duration::from_secs(1);
/// How long after its approval a login's session may still be taken.
const DELIVER_WITHIN_SECONDS: i64 = 120;
const USED: &str = "The session was handed out already.";

/// The app's half of a login: a confirmed key's signature approves the
/// challenge. The session is made for the browser waiting on it, which
/// holds the wait secret; this answer carries none.
pub async fn login(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PubkeyLogin,
) -> Done<answers::PubkeyApproved> {
    const FAILED: &str = "Could not log in with this key.";
    let signature = decode_signature(&p.signature).or_else(|r| no(r, FAILED))?;
    let c = usable_challenge(&app, &p.challenge_id, Purpose::Login, FAILED).await?;
    let key = store::pubkey::key(&app.db, &p.key_id)
        .await?
        .filter(|k| k.confirmed);
    let Some(key) = key else {
        let event = Event::PubkeyLoginFailed {
            reason: KeyFailure::UnknownKey,
            key_id: None,
        };
        audit(&app, &ctx, event, None).await?;
        return no(Refusal::PubkeyNotFound, FAILED);
    };
    if c.user_id.is_some_and(|u| u != key.user_id) {
        return no(Refusal::ChallengeWrongUser, FAILED);
    }
    let failed = |reason: KeyFailure| Event::PubkeyLoginFailed {
        reason,
        key_id: Some(key.key_id.clone()),
    };
    let message = signed_message(&c.purpose, &c.challenge_id, &c.challenge);
    let verified = decode_public_key(&key.public_key)
        .is_ok_and(|k| k.verify_strict(message.as_bytes(), &signature).is_ok());
    if !verified {
        audit(&app, &ctx, failed(KeyFailure::Signature), Some(key.user_id)).await?;
        return no(Refusal::PubkeyBadSignature, FAILED);
    }
    let now = app.now();
    let Some(user) = store::users::by_id(&app.db, key.user_id).await? else {
        return no(Refusal::PubkeyNotFound, FAILED);
    };
    if !can_sign_in(&user, now) {
        audit(&app, &ctx, failed(KeyFailure::Account), Some(key.user_id)).await?;
        return no(Refusal::AccountCannotSignIn, FAILED);
    }
    // Single use: of concurrent approvals of this challenge, one spends it.
    let id = &c.challenge_id;
    if !store::pubkey::consume_challenge(&app.db, id, &c.purpose, now, user.user_id, &key.key_id)
        .await?
    {
        return no(why_not_spent(&app, id).await?, FAILED);
    }
    store::pubkey::touch_key(&app.db, &key.key_id, now).await?;
    app.challenge_waits.wake(id);
    let event = Event::PubkeyLogin {
        key_id: key.key_id.clone(),
    };
    audit(&app, &ctx, event, Some(user.user_id)).await?;
    Ok(Said::new(
        answers::PubkeyApproved {
            status: "approved".into(),
        },
        "Approved: the browser that asked signs in.",
    ))
}

/// A waiter's answer of just a status.
fn just(status: &str, message: &str) -> Said<answers::ChallengeStatus> {
    Said::new(
        answers::ChallengeStatus {
            status: status.into(),
            ..Default::default()
        },
        message,
    )
}

/// An approved login's session for the waiter, once: a new session for the
/// browser that asked (its address and user agent), or — for an account
/// whose second factor a device key does not stand in for — the
/// `mfa_token` of the second step. `None` when it was taken already.
async fn deliver(app: &App, c: &challenges::Model) -> Done<Option<answers::ChallengeStatus>> {
    let now = app.now();
    let since = now - chrono::Duration::seconds(DELIVER_WITHIN_SECONDS);
    if !store::pubkey::deliver_login(&app.db, &c.challenge_id, now, since).await? {
        return Ok(Said::new(None, USED));
    }
    let user = match c.completed_user_id {
        Some(id) => store::users::by_id(&app.db, id).await?,
        None => None,
    };
    let Some(user) = user.filter(|u| can_sign_in(u, now)) else {
        return no(
            Refusal::AccountCannotSignIn,
            "Sorry, this account cannot sign in.",
        );
    };
    let amr = Amr::new([Method::DeviceKey]);
    if !app.config.pubkey.device_key_counts_as_mfa
        && crate::actions::mfa::required(app, user.user_id).await?
    {
        // The first step is done: say so, and what is left.
        let token = crate::actions::mfa::mfa_token(app, &user, None, Method::DeviceKey).await?;
        let methods = crate::actions::mfa::METHODS.map(str::to_owned).to_vec();
        return Ok(Said::new(
            Some(answers::ChallengeStatus {
                status: "completed".into(),
                mfa_required: Some(true),
                mfa_token: Some(token.into()),
                methods: Some(methods),
                ..Default::default()
            }),
            crate::actions::mfa::ENTER_CODE,
        ));
    }
    let token = tokens::new_token()?;
    let days = i64::from(app.config.sessions.session_expiry_days);
    let expires = now + chrono::Duration::days(days);
    let inserted = store::sessions::insert(
        &app.db,
        store::sessions::NewSession {
            token_hash: tokens::digest(&token),
            ip_address: c.requester_ip.clone().unwrap_or_default(),
            user_agent: c.requester_ua.clone().unwrap_or_default(),
            user_id: user.user_id,
            created: now,
            expires,
            extra_info_json: None,
            amr: amr.stored(),
            auth_time: c.used.or(Some(now)),
        },
    )
    .await?;
    if inserted == store::sessions::Inserted::NoSuchUser {
        // Deleted while signing in.
        return no(
            Refusal::AccountCannotSignIn,
            "Sorry, this account cannot sign in.",
        );
    }
    store::users::record_success(app.writes(), user.user_id, now).await?;
    Ok(Said::new(
        Some(answers::ChallengeStatus {
            status: "completed".into(),
            user_id: Some(user.user_id),
            user_role: Some(user.user_role),
            session_token: Some(token.into()),
            expires: Some(timefmt::format(expires)),
            amr,
            ..Default::default()
        }),
        "Signed in with a device key.",
    ))
}

/// Whether a waiter on an approved login takes its session (once) or only
/// learns that it is ready: the portal's live wait looks, and the page it
/// then loads takes, so the session is made in a request that can set the
/// browser's cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    Deliver,
    Peek,
}

/// What a waiter answers for the challenge as it is now, or `None` to go on
/// waiting.
async fn status(
    app: &App,
    c: &challenges::Model,
    take: Take,
) -> Result<Option<Said<answers::ChallengeStatus>>, crate::actions::Refused> {
    let now = app.now();
    if c.purpose == Purpose::Register.as_str() {
        if c.delivered.is_some() {
            let confirmed = answers::ChallengeStatus {
                status: "confirmed".into(),
                key_id: c.key_id.clone(),
                ..Default::default()
            };
            return Ok(Some(Said::new(confirmed, "Key added.")));
        }
        if c.expires <= now {
            return Ok(Some(just("expired", "Challenge expired.")));
        }
        let key = match &c.key_id {
            Some(id) if c.used.is_some() => store::pubkey::key(&app.db, id).await?,
            _ => None,
        };
        return Ok(key.map(|k| {
            let fingerprint = decode_public_key(&k.public_key)
                .map(|pk| fingerprint(&pk))
                .unwrap_or_default();
            Said::new(
                answers::ChallengeStatus {
                    status: "registered".into(),
                    key_id: Some(k.key_id),
                    label: k.label,
                    fingerprint: Some(fingerprint),
                    ..Default::default()
                },
                "A key waits for your confirmation: compare its fingerprint with the app's.",
            )
        }));
    }
    if c.delivered.is_some() {
        return Ok(Some(just("used", USED)));
    }
    if c.used.is_some() && take == Take::Peek {
        return Ok(Some(just(
            "approved",
            "Approved: the session waits for this browser.",
        )));
    }
    if c.used.is_some() {
        let delivered = deliver(app, c).await?;
        return Ok(Some(match delivered.answer {
            Some(answer) => Said {
                answer,
                messages: delivered.messages,
            },
            None => just("used", USED),
        }));
    }
    if c.expires <= now {
        return Ok(Some(just("expired", "Challenge expired.")));
    }
    Ok(None)
}

pub async fn challenge_wait(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::PubkeyChallengeWait,
) -> Done<answers::ChallengeStatus> {
    if !(0..=WAIT_MAX_SECONDS).contains(&p.wait_seconds) {
        return no(Refusal::PubkeyBadWait, "Invalid wait.");
    }
    let wait = Duration::from_secs(p.wait_seconds.unsigned_abs());
    let secret = p.wait_secret.expose_secret();
    wait_on(&app, &p.challenge_id, secret, wait, Take::Deliver).await
}

/// As `pubkey-challenge-wait`, for the holder of the wait secret, but an
/// approved login answers `approved` and leaves its session to be taken
/// (by `challenge_wait`). At most `WAIT_MAX_SECONDS`.
pub async fn challenge_watch(
    app: &App,
    challenge_id: &str,
    wait_secret: &str,
    wait: Duration,
) -> Done<answers::ChallengeStatus> {
    let wait = wait.min(Duration::from_secs(WAIT_MAX_SECONDS.unsigned_abs()));
    wait_on(app, challenge_id, wait_secret, wait, Take::Peek).await
}

async fn wait_on(
    app: &App,
    challenge_id: &str,
    secret: &str,
    wait: Duration,
    take: Take,
) -> Done<answers::ChallengeStatus> {
    const UNKNOWN: &str = "No such challenge.";
    // Nothing is looked up or kept for an id that cannot be one, and only
    // challenges that exist, asked by their holder, get an entry in the
    // wait map.
    let Some(id) = crate::waits::ChallengeId::parse(challenge_id) else {
        return no(Refusal::ChallengeUnknown, UNKNOWN);
    };
    if held_challenge(app, id.as_str(), secret).await?.is_none() {
        return no(Refusal::ChallengeUnknown, UNKNOWN);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let subscription = app.challenge_waits.subscribe(&id);
    loop {
        // Armed before the read, so a completion right after it still wakes us.
        let woken = subscription.notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let Some(c) = store::pubkey::challenge(&app.db, id.as_str()).await? else {
            return no(Refusal::ChallengeUnknown, UNKNOWN);
        };
        if let Some(answer) = status(app, &c, take).await? {
            return Ok(answer);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(just("pending", "Challenge still pending."));
        }
        let to_expiry = (c.expires - app.now()).to_std().unwrap_or_default();
        let nap = left.min(RECHECK).min(to_expiry);
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}
