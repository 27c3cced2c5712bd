//! Message texts with `{placeholder}`s. Operators override any part by
//! putting a file in `mail_templates`: `<kind>.subject`, `<kind>.txt`,
//! `<kind>.html` (kinds `signup`, `forgotpass`, `magic_link`,
//! `email_change`, and `magic_code.sms` for the SMS text).

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Signup,
    ForgotPass,
    MagicLink,
    /// The link that confirms a new address (the portal's account page).
    EmailChange,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Signup => "signup",
            Kind::ForgotPass => "forgotpass",
            Kind::MagicLink => "magic_link",
            Kind::EmailChange => "email_change",
        }
    }

    fn builtin(self) -> [&'static str; 3] {
        match self {
            Kind::Signup => [SIGNUP_SUBJECT, SIGNUP_TEXT, SIGNUP_HTML],
            Kind::ForgotPass => [FORGOT_SUBJECT, FORGOT_TEXT, FORGOT_HTML],
            Kind::MagicLink => [MAGIC_SUBJECT, MAGIC_TEXT, MAGIC_HTML],
            Kind::EmailChange => [CHANGE_SUBJECT, CHANGE_TEXT, CHANGE_HTML],
        }
    }
}

const SIGNUP_SUBJECT: &str = "[{server_name}] Please verify your account sign up request";
const SIGNUP_TEXT: &str = "Hello,

This is an automated message from the {server_name} at {server_baseurl}.

We received an account sign up request for: {user_email}. This request was
initiated using the browser: {browser_identifier} from the IP address:
{ip_address}.

Please enter this code:

{verification_code}

into the account verification form at: {server_baseurl}{account_verify_url}
to verify that you made this request. This code will expire on
{verification_expiry}.

If you do not recognize this sign up request, you can ignore this message.

Thanks,
{server_name} admins
";
const SIGNUP_HTML: &str = "<p>Hello,</p>
<p>We received an account sign up request for <b>{user_email}</b> at
{server_name}, from the browser {browser_identifier} at {ip_address}.</p>
<p>Please enter this code into the <a href=\"{server_baseurl}{account_verify_url}\">account
verification form</a>:</p>
<pre>{verification_code}</pre>
<p>It expires on {verification_expiry}. If you did not ask for this, ignore this message.</p>
";

const FORGOT_SUBJECT: &str = "[{server_name}] Please verify your password reset request";
const FORGOT_TEXT: &str = "Hello,

This is an automated message from the {server_name} at {server_baseurl}.

We received a password reset request for: {user_email}. This request was
initiated using the browser: {browser_identifier} from the IP address:
{ip_address}.

Please enter this code:

{verification_code}

into the password reset form at: {server_baseurl}{password_forgot_url}
to verify that you made this request. This code will expire on
{verification_expiry}.

If you do not recognize this request, you can ignore this message.

Thanks,
{server_name} admins
";
const FORGOT_HTML: &str = "<p>Hello,</p>
<p>We received a password reset request for <b>{user_email}</b> at {server_name},
from the browser {browser_identifier} at {ip_address}.</p>
<p>Please enter this code into the <a href=\"{server_baseurl}{password_forgot_url}\">password
reset form</a>:</p>
<pre>{verification_code}</pre>
<p>It expires on {verification_expiry}. If you did not ask for this, ignore this message.</p>
";

const MAGIC_SUBJECT: &str = "[{server_name}] Your sign-in code: {code}";
const MAGIC_TEXT: &str = "Hello,

Your code to sign in to {server_name} is:

    {code}

or open this link:

{link}

Both work once and expire in {expires_minutes} minutes. If you did not try to
sign in, you can ignore this message.
";
const MAGIC_HTML: &str = "<p>Your code to sign in to {server_name} is</p>
<p style=\"font-size: 1.6em; letter-spacing: 0.2em\"><b>{code}</b></p>
<p>or <a href=\"{link}\">sign in with this link</a>.</p>
<p>Both work once and expire in {expires_minutes} minutes. If you did not try to sign
in, you can ignore this message.</p>
";
const CHANGE_SUBJECT: &str = "[{server_name}] Confirm your new email address";
const CHANGE_TEXT: &str = "Hello,

Someone signed in to {server_name} asked to use this address, {user_email},
for their account. To confirm it, open this link in the browser where you
are signed in:

{link}

It works once and expires in {expires_minutes} minutes. Until you open it,
the account keeps its old address. If you did not ask for this, you can
ignore this message.
";
const CHANGE_HTML: &str = "<p>Someone signed in to {server_name} asked to use this address,
<b>{user_email}</b>, for their account.</p>
<p>To confirm it, <a href=\"{link}\">open this link</a> in the browser where you are
signed in. It works once and expires in {expires_minutes} minutes.</p>
<p>Until you open it, the account keeps its old address. If you did not ask for this,
ignore this message.</p>
";
const SMS_TEXT: &str =
    "{code} is your {server_name} sign-in code. It expires in {expires_minutes} minutes.";

#[derive(Debug, thiserror::Error)]
#[error("mail template {path}: {source}")]
pub struct TemplateError {
    path: String,
    source: std::io::Error,
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone)]
pub struct Templates {
    mail: Vec<(Kind, [String; 3])>,
    sms: String,
}

impl Templates {
    /// The built-in texts, with any overrides found in `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let read = |file: String, builtin: &str| -> Result<String, TemplateError> {
            let Some(dir) = dir else {
                return Ok(builtin.to_owned());
            };
            let path = dir.join(&file);
            match std::fs::read_to_string(&path) {
                Ok(s) => Ok(s),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(builtin.to_owned()),
                Err(source) => Err(TemplateError {
                    path: path.display().to_string(),
                    source,
                }),
            }
        };
        let mut mail = Vec::new();
        for kind in [
            Kind::Signup,
            Kind::ForgotPass,
            Kind::MagicLink,
            Kind::EmailChange,
        ] {
            let [subject, text, html] = kind.builtin();
            let n = kind.name();
            mail.push((
                kind,
                [
                    read(format!("{n}.subject"), subject)?,
                    read(format!("{n}.txt"), text)?,
                    read(format!("{n}.html"), html)?,
                ],
            ));
        }
        Ok(Templates {
            mail,
            sms: read("magic_code.sms".into(), SMS_TEXT)?,
        })
    }

    pub fn mail(&self, kind: Kind, vars: &[(&str, &str)]) -> Mail {
        let empty: [String; 3] = Default::default();
        let [subject, text, html] = self
            .mail
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&empty, |(_, t)| t);
        Mail {
            // A header cannot hold a line break.
            subject: fill(subject, vars, false).replace(['\r', '\n'], " "),
            text: fill(text, vars, false),
            html: fill(html, vars, true),
        }
    }

    pub fn sms(&self, vars: &[(&str, &str)]) -> String {
        fill(&self.sms, vars, false)
    }
}

/// Replaces each `{name}` by its value (HTML-escaped for HTML bodies);
/// unknown placeholders stay as written.
fn fill(template: &str, vars: &[(&str, &str)], html: bool) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        let value = if html {
            escape_html(value)
        } else {
            (*value).to_owned()
        };
        out = out.replace(&format!("{{{name}}}"), &value);
    }
    out
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_escaped_in_html() {
        let t = Templates::load(None).unwrap();
        let m = t.mail(
            Kind::MagicLink,
            &[
                ("code", "123456"),
                ("link", "https://x/?a=1&b=<2>"),
                ("server_name", "Demo\nX"),
            ],
        );
        assert_eq!(m.subject, "[Demo X] Your sign-in code: 123456");
        assert!(m.text.contains("https://x/?a=1&b=<2>"));
        assert!(m.html.contains("https://x/?a=1&amp;b=&lt;2&gt;"));
        assert!(
            m.text.contains("{expires_minutes}"),
            "unknown placeholders stay"
        );
    }

    #[test]
    fn an_address_change_mail_names_the_new_address_and_its_link() {
        let t = Templates::load(None).unwrap();
        let m = t.mail(
            Kind::EmailChange,
            &[
                ("user_email", "new@example.com"),
                ("link", "https://x/account/email/verify?token=a&b"),
                ("server_name", "Demo"),
                ("expires_minutes", "60"),
            ],
        );
        assert_eq!(m.subject, "[Demo] Confirm your new email address");
        assert!(m.text.contains("https://x/account/email/verify?token=a&b"));
        assert!(m.html.contains("token=a&amp;b"));
        assert!(m.text.contains("new@example.com") && m.text.contains("60 minutes"));
    }

    #[test]
    fn overrides_come_from_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("magic_link.subject"), "Code {code}").unwrap();
        std::fs::write(dir.path().join("magic_code.sms"), "{code}!").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(t.mail(Kind::MagicLink, &[("code", "7")]).subject, "Code 7");
        assert_eq!(t.sms(&[("code", "7")]), "7!");
        assert!(t.mail(Kind::Signup, &[]).text.contains("sign up request"));
    }
}
