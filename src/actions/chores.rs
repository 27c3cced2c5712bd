//! The hourly chore (run at start-up too): whatever has an end is deleted
//! once past it, so no table only grows.

use super::Fault;
use crate::app::App;
use crate::store;

/// How long a spent second-factor token is kept: long enough that the
/// login spending it has read it back.
const SPENT_MFA_TOKEN_KEEP: chrono::Duration = chrono::Duration::minutes(5);

/// Every prune, each on its own: one that fails is logged and the others
/// still run.
pub async fn hourly(app: &App) {
    if let Err(e) = super::session::prune_expired(app).await {
        tracing::warn!(error = %e, "expired sessions not pruned");
    }
    if let Err(e) = super::pubkey::prune_challenges(app).await {
        tracing::warn!(error = %e, "old pubkey challenges not pruned");
    }
    if let Err(e) = store::passkeys::delete_ceremonies_before(&app.db, app.now()).await {
        tracing::warn!(error = %e, "expired passkey ceremonies not pruned");
    }
    if let Err(e) = super::token::housekeeping(app).await {
        tracing::warn!(error = %e, "expired refresh tokens not pruned");
    }
    if let Err(e) = super::audit::prune(app).await {
        tracing::warn!(error = %e, "old audit events not pruned");
    }
    if let Err(e) = super::password_check::prune(app).await {
        tracing::warn!(error = %e, "old failure counts not pruned");
    }
    if let Err(e) = prune_passwordless_attempts(app).await {
        tracing::warn!(error = %e, "old passwordless attempts not pruned");
    }
    if let Err(e) = prune_mfa_tokens(app).await {
        tracing::warn!(error = %e, "spent second-factor tokens not pruned");
    }
    if let Err(e) = prune_oidc_codes(app).await {
        tracing::warn!(error = %e, "old authorization codes not pruned");
    }
}

/// How long an expired authorization code is kept: presented again within
/// this, a redeemed one still revokes what it issued.
const EXPIRED_CODE_KEEP: chrono::Duration = chrono::Duration::days(1);

/// Deletes authorization codes that expired more than a day ago.
pub async fn prune_oidc_codes(app: &App) -> Result<u64, Fault> {
    let cutoff = app.now() - EXPIRED_CODE_KEEP;
    let pruned = store::oidc::prune_codes(&app.db, cutoff).await?;
    if pruned > 0 {
        tracing::info!(pruned, "old authorization codes deleted");
    }
    Ok(pruned)
}

/// Deletes passwordless attempts that expired and that no send window
/// counts any more: the windows count rows by when they were made, so a
/// row stays for the longer window even after its code is dead.
pub async fn prune_passwordless_attempts(app: &App) -> Result<u64, Fault> {
    let p = &app.config.passwordless;
    let longest = p.passwordless_address_window.max(p.passwordless_ip_window);
    let now = app.now();
    // Both windows are bounded at validation (a year at most).
    let keep = chrono::Duration::seconds(i64::try_from(longest).unwrap_or(i64::MAX / 1000));
    let Some(cutoff) = now.checked_sub_signed(keep) else {
        return Ok(0);
    };
    let pruned = store::passwordless::delete_before(&app.db, cutoff, now).await?;
    if pruned > 0 {
        tracing::info!(pruned, "old passwordless attempts deleted");
    }
    Ok(pruned)
}

/// Deletes second-factor tokens that expired, or were spent a while ago.
pub async fn prune_mfa_tokens(app: &App) -> Result<u64, Fault> {
    let now = app.now();
    let pruned =
        store::totp::delete_spent_mfa_tokens(&app.db, now, now - SPENT_MFA_TOKEN_KEEP).await?;
    if pruned > 0 {
        tracing::info!(pruned, "spent second-factor tokens deleted");
    }
    Ok(pruned)
}
