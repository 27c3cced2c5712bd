//! Sending a start's code (after the answer, so the answer never depends
//! on delivery), and the striped locks a start holds while it counts its
//! send windows.

use std::sync::Arc;

use super::Channel;
use crate::actions::{Ctx, Event, audit};
use crate::app::App;
use crate::notify::templates::Kind;
use crate::store;

/// A code (and, by email, a link) to deliver.
pub(super) struct Outgoing {
    pub(super) channel: Channel,
    pub(super) address: String,
    pub(super) attempt_id: String,
    pub(super) code: String,
    pub(super) link_token: Option<String>,
    pub(super) user_id: Option<i64>,
}

/// Sends the code; a send that fails ends its attempt (nobody has the code)
/// and is audited as `passwordless-send-failed`.
pub(super) async fn deliver(app: Arc<App>, ctx: Ctx, m: Outgoing) {
    let config = &app.config;
    let minutes = (config.passwordless.passwordless_ttl / 60).to_string();
    let (sent, channel) = match (&m.link_token, m.channel) {
        (Some(token), Channel::Email) => {
            let base = &config.passwordless.passwordless_link_base_url;
            let joiner = if base.contains('?') { '&' } else { '?' };
            let link = format!("{base}{joiner}token={token}");
            let vars = [
                ("code", m.code.as_str()),
                ("link", link.as_str()),
                ("server_name", config.server.server_name.as_str()),
                ("expires_minutes", minutes.as_str()),
            ];
            let sent = app
                .notify
                .mailer
                .send(&m.address, Kind::MagicLink, &vars)
                .await;
            (sent.is_ok(), "email")
        }
        _ => {
            let text = app.notify.mailer.templates.sms(&[
                ("code", m.code.as_str()),
                ("server_name", config.server.server_name.as_str()),
                ("expires_minutes", minutes.as_str()),
            ]);
            (app.notify.sms.send(&m.address, &text).await.is_ok(), "sms")
        }
    };
    if sent {
        return;
    }
    let ended = store::passwordless::finish(&app.db, &m.attempt_id, app.now()).await;
    let event = Event::PasswordlessSendFailed {
        channel: channel.to_owned(),
    };
    let audited = audit(&app, &ctx, event, m.user_id).await;
    if let Err(e) = ended.and(audited) {
        tracing::warn!(error = %crate::logging::Escaped(&e), "failed passwordless send not recorded");
    }
}

/// Locks striped by address and by client, held while a start checks its
/// send windows.
static WINDOW_LOCKS: [tokio::sync::Mutex<()>; 64] =
    [const { tokio::sync::Mutex::const_new(()) }; 64];

pub(super) async fn window_turn(
    address: &str,
    ip_hash: Option<&str>,
) -> Vec<tokio::sync::MutexGuard<'static, ()>> {
    use std::hash::{Hash, Hasher};
    let stripe = |s: &str| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        (h.finish() % WINDOW_LOCKS.len() as u64) as usize
    };
    let mut stripes = vec![stripe(address)];
    stripes.extend(ip_hash.map(stripe));
    // Always in the same order, so two starts never wait on each other.
    stripes.sort_unstable();
    stripes.dedup();
    let mut held = Vec::with_capacity(stripes.len());
    for i in stripes {
        held.push(WINDOW_LOCKS[i].lock().await);
    }
    held
}
