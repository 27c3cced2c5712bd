//! Every sentence the portal shows a person, in one place (English), ready
//! for more languages. Notices travel between pages as a short code in
//! `?m=`, never as text, so nothing a link carries is shown as written.

/// A notice named by `?m=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    SignedOut,
    OthersSignedOut,
    SignInAgain,
    Expired,
    TotpOn,
    PasswordChanged,
    KeyRenamed,
    KeyRemoved,
    EmailChanged,
    TotpOff,
    RecoveryRenewed,
    KeyAdded,
    PasswordReset,
    EmailVerified,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
}

impl Notice {
    pub const ALL: [Notice; 17] = [
        Notice::SignedOut,
        Notice::OthersSignedOut,
        Notice::SignInAgain,
        Notice::Expired,
        Notice::TotpOn,
        Notice::PasswordChanged,
        Notice::KeyRenamed,
        Notice::KeyRemoved,
        Notice::EmailChanged,
        Notice::TotpOff,
        Notice::RecoveryRenewed,
        Notice::KeyAdded,
        Notice::PasswordReset,
        Notice::EmailVerified,
        Notice::PasskeyAdded,
        Notice::PasskeyRenamed,
        Notice::PasskeyRemoved,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Notice::SignedOut => "signed-out",
            Notice::OthersSignedOut => "others-signed-out",
            Notice::SignInAgain => "sign-in-again",
            Notice::Expired => "expired",
            Notice::TotpOn => "totp-on",
            Notice::PasswordChanged => "password-changed",
            Notice::KeyRenamed => "key-renamed",
            Notice::KeyRemoved => "key-removed",
            Notice::EmailChanged => "email-changed",
            Notice::TotpOff => "totp-off",
            Notice::RecoveryRenewed => "recovery-renewed",
            Notice::KeyAdded => "key-added",
            Notice::PasswordReset => "password-reset",
            Notice::EmailVerified => "email-verified",
            Notice::PasskeyAdded => "passkey-added",
            Notice::PasskeyRenamed => "passkey-renamed",
            Notice::PasskeyRemoved => "passkey-removed",
        }
    }

    pub fn parse(code: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.code() == code)
    }

    pub fn text(self) -> &'static str {
        match self {
            Notice::SignedOut => "You have signed out.",
            Notice::OthersSignedOut => "Every other session has been signed out.",
            Notice::SignInAgain => {
                "For your security, please sign in again before changing how you sign in."
            }
            Notice::Expired => "That sign-in took too long. Please start again.",
            Notice::TotpOn => "Your authenticator app is now asked for at every sign-in.",
            Notice::PasswordChanged => {
                "Your password has been changed. Other sessions have been signed out."
            }
            Notice::KeyRenamed => "The device key has been renamed.",
            Notice::KeyRemoved => "The device key has been removed: it can no longer sign in.",
            Notice::EmailChanged => "Your email address has been changed.",
            Notice::TotpOff => "Two-factor sign-in is off: only your password is asked for.",
            Notice::KeyAdded => "The phone has been added: it can sign in to your account now.",
            Notice::RecoveryRenewed => {
                "These are your new recovery codes. The old ones no longer work."
            }
            Notice::PasswordReset => {
                "Your password has been changed and every session signed out. Sign in with the new password."
            }
            Notice::EmailVerified => "Your email address is verified. You can sign in now.",
            Notice::PasskeyAdded => {
                "The passkey has been added: it can sign in to your account now."
            }
            Notice::PasskeyRenamed => "The passkey has been renamed.",
            Notice::PasskeyRemoved => "The passkey has been removed: it can no longer sign in.",
        }
    }
}

pub const ERROR_TITLE: &str = "That did not work";
pub const FORM_EXPIRED: &str = "This form has expired. Please try again.";
pub const CROSS_SITE: &str = "This request did not come from this site's own pages.";
pub const WRONG_CODE: &str = "That code did not work. Please sign in again.";
pub const WRONG_CONFIRM_CODE: &str = "That code did not match. Scan the new code and try again.";
pub const LINK_ELSEWHERE_TITLE: &str = "This link does not sign in here";
pub const LINK_ELSEWHERE: &str = "A sign-in link works once, for a short time, and only in the browser where you asked for it. Type the six-digit code from the email in that browser, or ask for a new link.";
pub const WRONG_SMS_CODE: &str = "That code is not right. Check the text message and try again.";
pub const WRONG_EMAIL_CODE: &str = "That code is not right. Check the email and try again.";
pub const DEVICE_LOGIN_TITLE: &str = "Sign in with your phone";
pub const DEVICE_LOGIN_INTRO: &str = "Open the app on your phone, scan this code and approve the sign-in. This page continues by itself once you have.";
pub const DEVICE_ADD_TITLE: &str = "Add a phone";
pub const DEVICE_ADD_INTRO: &str = "Open the app on your phone and scan this code. This page continues by itself, and asks you to compare what the phone shows before the phone is added.";
pub const DEVICE_AGAIN: &str = "Start over with a new code";
pub const DEVICE_CANCEL: &str = "Cancel";
pub const DEVICE_OVER_TITLE: &str = "This code cannot sign in any more";
pub const DEVICE_OVER: &str = "The code expired or was used already. Start again to get a new one.";
pub const UNAVAILABLE: &str = "Something went wrong on our side. Please try again in a moment.";
pub const NOT_FOUND: &str = "There is no such page.";
pub const NO_SUCH_KEY: &str = "There is no such device key on your account.";
pub const KEY_LABEL_INVALID: &str = "That name is too long. Keep it to 200 characters.";
pub const WRONG_ACCOUNT_CODE: &str =
    "That code did not work. Check the time on your device and try again.";
pub const CODE_REUSED: &str = "That code was used already. Wait for the next one.";
pub const EMAIL_UNUSABLE: &str =
    "That address cannot be used. Check that it is a valid address, other than your current one.";
pub const MAIL_FAILED: &str = "We could not send the email. Please try again in a moment.";
pub const EMAIL_SENT_TITLE: &str = "Check your new address";
pub const EMAIL_LINK_INVALID: &str = "This link does not work: it has expired, was used already, was replaced by a newer one, or belongs to another account. Your address has not changed.";
pub const PASSKEY_NOT_ALLOWED: &str = "The passkey was not used: the request was cancelled, or it timed out. Try again when you are ready.";
pub const PASSKEY_INVALID_STATE: &str = "This device already holds a passkey for your account.";
pub const PASSKEY_SECURITY: &str =
    "This browser does not allow passkeys for this site. Check that the address is right.";
pub const PASSKEY_ABORT: &str = "The passkey request was stopped. Try again.";
pub const PASSKEY_UNSUPPORTED: &str = "This browser cannot use passkeys. Sign in another way.";
pub const PASSKEY_FAILED: &str = "That passkey did not work. Try again, or sign in another way.";
pub const PASSKEY_OVER: &str = "The passkey request is over. Please try again.";
pub const PASSKEY_UNKNOWN: &str =
    "That passkey is not known here. It may have been removed from your account.";
pub const PASSKEY_EXISTS: &str = "That passkey is already on an account.";
pub const PASSKEY_MODEL: &str = "This kind of authenticator is not allowed here.";
pub const PASSKEY_ACCOUNT: &str = "Sorry, this account cannot sign in.";
pub const NO_SUCH_PASSKEY: &str = "There is no such passkey on your account.";
pub const EMAIL_TAKEN: &str = "That email address is already in use. Your address has not changed.";

/// After an address change was asked for.
pub fn email_change_sent(address: &str) -> String {
    format!(
        "We sent a link to {address}. Your address changes when you open it, signed in as you are now, within an hour. Until then, keep signing in with your current address."
    )
}
pub const CHECK_EMAIL_TITLE: &str = "Check your email";
pub const FORGOT_SENT: &str = "If an account uses that address, we have sent it a link to choose a new password. The link works once, for a limited time. If no email arrives, check the address, or ask again tomorrow.";
pub const SIGNUP_SENT: &str = "If this address can sign up, we have sent it a link to verify it: your account works once you open it. If you already have an account, sign in or reset your password instead.";
pub const LINK_DEAD_TITLE: &str = "This link does not work";
pub const RESET_LINK_DEAD: &str = "This password reset link has expired, has already been used, or is not complete. Ask for a new one from the sign-in page.";
pub const VERIFY_LINK_DEAD: &str = "This verification link has expired or is not complete. Sign up again with the same address to get a new one.";

/// A wait, for a person: "Too many attempts. Please wait 42 seconds."
pub fn too_many(wait_secs: u64) -> String {
    match wait_secs {
        0 | 1 => "Too many attempts. Please wait a second and try again.".into(),
        n => format!("Too many attempts. Please wait {n} seconds and try again."),
    }
}

/// What a relying party gets with each scope, said for the consent page.
pub fn scope_gives(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("know who you are when you sign in"),
        "profile" => Some("see your name"),
        "email" => Some("see your verified email address"),
        "groups" => Some("see your role"),
        "offline_access" => Some("stay signed in while you are away"),
        _ => None,
    }
}

pub const OIDC_DENIED: &str = "You did not allow it.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_round_trips_and_unknown_codes_show_nothing() {
        let back: Vec<_> = Notice::ALL.map(|n| Notice::parse(n.code())).into();
        assert_eq!(back, Notice::ALL.map(Some));
        assert!(Notice::ALL.iter().all(|n| !n.text().is_empty()));
        assert_eq!(Notice::parse("<script>"), None);
    }
}
