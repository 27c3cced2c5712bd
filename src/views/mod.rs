//! The portal's pages: server-rendered HTML (askama templates compiled in,
//! every value HTML-escaped unless marked), no inline script (the phone and
//! passkey pages load the portal's own files, given data in `data-`
//! attributes), and all their words
//! in `text`. Views know nothing of HTTP or the database: they are given
//! what to show.

pub mod text;

use askama::Template;

/// What every page shows around its content.
pub struct Chrome<'a> {
    pub product: &'a str,
    /// Whether the operator configured a logo (`static/logo`).
    pub logo: bool,
    /// The portal's base path (`/`, `/auth/`): links and form actions.
    pub base: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "portal/login.html")]
pub struct Login<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    /// Where to go afterwards, as asked (checked again when used).
    pub rd: &'a str,
    /// The address typed before, after a refusal.
    pub email: &'a str,
    /// Whether to offer sign-up (`portal_signup`).
    pub signup: bool,
    /// Whether to offer a code by SMS (an SMS sender is configured).
    pub sms: bool,
    /// With passkeys on: "Sign in with a passkey".
    pub pk: Option<PasskeyText>,
}

/// The passkey script's sentences (given to it in `data-` attributes): a
/// browser's refusal, said for a person.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyText {
    pub not_allowed: &'static str,
    pub invalid_state: &'static str,
    pub security: &'static str,
    pub abort: &'static str,
    pub failed: &'static str,
    pub unsupported: &'static str,
}

pub const PASSKEY_TEXT: PasskeyText = PasskeyText {
    not_allowed: text::PASSKEY_NOT_ALLOWED,
    invalid_state: text::PASSKEY_INVALID_STATE,
    security: text::PASSKEY_SECURITY,
    abort: text::PASSKEY_ABORT,
    failed: text::PASSKEY_FAILED,
    unsupported: text::PASSKEY_UNSUPPORTED,
};

/// Asking for a password-reset link.
#[derive(Template)]
#[template(path = "portal/forgot.html")]
pub struct Forgot<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    pub email: &'a str,
}

/// Choosing a new password with a mailed reset link.
#[derive(Template)]
#[template(path = "portal/reset.html")]
pub struct Reset<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    /// The link's token, carried to the form's post.
    pub token: &'a str,
    /// The account's address, for password managers.
    pub email: &'a str,
}

#[derive(Template)]
#[template(path = "portal/signup.html")]
pub struct Signup<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    pub email: &'a str,
    pub full_name: &'a str,
}

#[derive(Template)]
#[template(path = "portal/code.html")]
pub struct Code<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    pub rd: &'a str,
    /// When the user's passkey may be the second step.
    pub pk: Option<PasskeyText>,
}

#[derive(Template)]
#[template(path = "portal/email_sent.html")]
pub struct EmailSent<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    pub rd: &'a str,
    /// The code went by SMS (no link), not by email.
    pub sms: bool,
}

/// A page that only says something (with a way back to sign in).
#[derive(Template)]
#[template(path = "portal/message.html")]
pub struct Message<'a> {
    pub chrome: Chrome<'a>,
    pub title: &'a str,
    pub text: &'a str,
}

/// One signed-in session as the account page lists it.
pub struct SessionRow {
    pub auth_time: String,
    pub ip_address: String,
    pub user_agent: String,
    pub amr: String,
    pub current: bool,
}

/// One device key as the account page lists it.
pub struct KeyRow {
    pub key_id: String,
    /// Empty when the key has no label.
    pub label: String,
    pub created: String,
    /// Empty when never used.
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "portal/account.html")]
pub struct Account<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    pub email: &'a str,
    pub sessions: Vec<SessionRow>,
    pub keys: Vec<KeyRow>,
    pub totp_on: bool,
    /// The user's passkeys (as device keys are listed: the id in `key_id`).
    pub passkeys: Vec<KeyRow>,
    /// With passkeys on: the list and "Add a passkey".
    pub pk: Option<PasskeyText>,
}

#[derive(Template)]
#[template(path = "portal/totp.html")]
pub struct Totp<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    /// The QR code as inline SVG markup (made by the server from the
    /// otpauth URI; no user text in it).
    pub qr_svg: &'a str,
    pub secret: &'a str,
}

#[derive(Template)]
#[template(path = "portal/recovery.html")]
pub struct Recovery<'a> {
    pub chrome: Chrome<'a>,
    pub codes: &'a [String],
    /// The codes as a percent-encoded text file, for the download link.
    pub download: String,
}

/// A page with a QR code for the phone (to sign in, or to add it) and the
/// live wait: events and polls at `events` / `status`; `finish` once the
/// phone has answered, `again` when the code is spent.
#[derive(Template)]
#[template(path = "portal/device.html")]
pub struct Device<'a> {
    pub chrome: Chrome<'a>,
    pub heading: &'a str,
    pub intro: &'a str,
    /// The QR code as inline SVG markup (of the server's signed payload).
    pub qr_svg: String,
    pub events: &'a str,
    pub status: &'a str,
    pub finish: &'a str,
    pub again: &'a str,
    pub again_label: &'a str,
}

/// What the browser adding a phone confirms: the name and fingerprint the
/// phone's app shows.
#[derive(Template)]
#[template(path = "portal/device_confirm.html")]
pub struct DeviceConfirm<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    pub label: &'a str,
    pub fingerprint: &'a str,
}

/// The phone sign-in's finish before the phone approved (no script ran).
#[derive(Template)]
#[template(path = "portal/device_pending.html")]
pub struct DevicePending<'a> {
    pub chrome: Chrome<'a>,
    pub finish: &'a str,
    pub again: &'a str,
}

/// `text` as a QR code in inline SVG markup; empty when it does not fit
/// one.
pub fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(256, 256)
                .build()
        })
        .map(|doc| inline_svg(&doc).to_owned())
        .unwrap_or_default()
}

/// An SVG document as markup to place inside HTML: without its XML
/// declaration or doctype.
pub fn inline_svg(doc: &str) -> &str {
    doc.find("<svg").map_or("", |at| &doc[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrome() -> Chrome<'static> {
        Chrome {
            logo: false,
            product: "Acme <Sign-in>",
            base: "/auth/",
            notice: None,
            error: Some("<b>wrong</b>"),
        }
    }

    #[test]
    fn every_value_is_escaped() {
        let page = Login {
            chrome: chrome(),
            csrf: "t\"ok",
            rd: "https://app.example.com/?a=1&b=\"><script>",
            email: "<x@example.com>",
            signup: false,
            sms: true,
            pk: Some(PASSKEY_TEXT),
        }
        .render()
        .unwrap();
        assert!(!page.contains("<script>") && !page.contains("<b>wrong"));
        assert!(page.contains("Acme &#60;Sign-in&#62;") || page.contains("Acme &lt;Sign-in&gt;"));
        assert!(page.contains("action=\"/auth/login\""));
        assert!(page.contains("autocomplete=\"current-password\""));
    }

    #[test]
    fn device_keys_are_escaped_and_each_form_names_its_key() {
        let page = Account {
            chrome: chrome(),
            csrf: "tok",
            email: "a@example.com",
            sessions: Vec::new(),
            keys: vec![KeyRow {
                key_id: "k\"1".into(),
                label: "<img src=x>".into(),
                created: "2026-12-02".into(),
                last_used: String::new(),
            }],
            totp_on: true,
            passkeys: Vec::new(),
            pk: None,
        }
        .render()
        .unwrap();
        assert!(!page.contains("<img src=x>"));
        assert_eq!(page.matches("name=\"key_id\" value=\"k&#34;1\"").count(), 2);
        assert!(page.contains("action=\"/auth/account/keys/delete\""));
        assert!(page.contains("action=\"/auth/account/totp/recovery\""));
        assert!(page.contains("autocomplete=\"email\""));
    }

    #[test]
    fn svg_is_placed_without_its_prologue() {
        let doc = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>";
        assert!(inline_svg(doc).starts_with("<svg"));
        assert_eq!(inline_svg("no markup"), "");
    }
}

/// Asking the user to let a relying party have some of their details.
#[derive(Template)]
#[template(path = "portal/consent.html")]
pub struct Consent<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    /// The client's name, as the operator registered it.
    pub client: &'a str,
    /// What each scope gives, said for a person.
    pub gives: Vec<&'static str>,
    /// The authorization request, carried to the form's post.
    pub request: &'a str,
}

/// Back to a relying party: a link the portal's own script follows (a
/// redirect would be refused after a form post by the page's CSP), or with
/// `fields`, a form it submits (`response_mode=form_post`).
#[derive(Template)]
#[template(path = "portal/oidc_return.html")]
pub struct OidcReturn<'a> {
    pub chrome: Chrome<'a>,
    pub client: &'a str,
    pub to: &'a str,
    pub fields: Vec<(&'a str, &'a str)>,
}

/// Asking before signing out for a relying party that did not name the
/// user (no valid `id_token_hint`): the request rides along in `fields`.
#[derive(Template)]
#[template(path = "portal/logout_confirm.html")]
pub struct LogoutConfirm<'a> {
    pub chrome: Chrome<'a>,
    pub csrf: &'a str,
    pub fields: Vec<(&'a str, &'a str)>,
}
