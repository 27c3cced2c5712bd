//! Servers wired to message sinks: real SMTP (aiosmtpd, `mailsink`), a
//! local Twilio or SMS webhook (`fake_twilio`).

use authnzd::config::{Config, MailTransport, SmsSender, SmtpTls};

use super::TestServer;
use super::fake_twilio::FakeTwilio;
use super::mailsink::MailSink;

/// The sender of the kit's mail.
pub const MAIL_FROM: &str = "Example <accounts@example.com>";
/// Where the kit's magic links point.
pub const LINK_BASE: &str = "https://app.example.com/magic";

/// Sends `c`'s mail by SMTP in clear to 127.0.0.1:`port`, from `MAIL_FROM`,
/// as server "Example" with links to `LINK_BASE`, giving up after 5 s.
pub fn smtp_to(c: &mut Config, port: u16) {
    c.mail.mail_transport = MailTransport::Smtp;
    c.mail.smtp_host = "127.0.0.1".into();
    c.mail.smtp_port = port;
    c.mail.smtp_tls = SmtpTls::None;
    c.mail.mail_from = MAIL_FROM.into();
    c.mail.mail_timeout = 5;
    c.server.server_name = "Example".into();
    c.passwordless.passwordless_link_base_url = LINK_BASE.into();
}

impl TestServer {
    /// A server mailing a fresh plain SMTP sink (`smtp_to`), and the sink.
    pub async fn with_mail() -> (TestServer, MailSink) {
        Self::with_mail_and(|_| {}).await
    }

    /// As `with_mail`, with `tweak` applied after the mail settings.
    pub async fn with_mail_and(tweak: impl FnOnce(&mut Config)) -> (TestServer, MailSink) {
        let sink = MailSink::start();
        let s = Self::with_smtp(sink.port, tweak).await;
        (s, sink)
    }

    /// A server mailing whatever listens on `port` (a sink of another kind,
    /// a dead port, a silent server): `smtp_to`, then `tweak`.
    pub async fn with_smtp(port: u16, tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_with(|c| {
            smtp_to(c, port);
            tweak(c);
        })
        .await
    }

    /// A server sending SMS through a local Twilio, and that Twilio
    /// (account `AC0123456789abcdef`, token `secret-token`, from
    /// +12015550100).
    pub async fn with_twilio() -> (TestServer, FakeTwilio) {
        let twilio = FakeTwilio::start().await;
        let url = twilio.url.clone();
        let s = Self::start_with(move |c| twilio_at(c, url)).await;
        (s, twilio)
    }

    /// A server POSTing SMS to a local webhook at `/sms-hook`, and the
    /// stand-in that records them.
    pub async fn with_sms_webhook() -> (TestServer, FakeTwilio) {
        let hook = FakeTwilio::start().await;
        let url = format!("{}/sms-hook", hook.url);
        let s = Self::start_with(move |c| {
            c.sms.sms_sender = SmsSender::Webhook;
            c.sms.sms_webhook_url = Some(url.into());
        })
        .await;
        (s, hook)
    }
}

/// SMS through the local Twilio at `url` (account `AC0123456789abcdef`,
/// token `secret-token`, from +12015550100).
pub fn twilio_at(c: &mut Config, url: String) {
    c.sms.sms_sender = SmsSender::Twilio;
    c.sms.twilio_account_sid = Some("AC0123456789abcdef".into());
    c.sms.twilio_auth_token = Some("secret-token".into());
    c.sms.twilio_from = Some("+12015550100".into());
    c.sms.twilio_base_url = url;
}
