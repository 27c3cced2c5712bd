//! Mail with lettre. SMTP (plain, STARTTLS or implicit TLS, optional login,
//! pooled connections), a file transport (one `.eml` per message) or a log
//! transport. Every send is bounded by `mail_timeout`.

use crate::secret::ExposeSecret;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Counters;
use super::templates::{Kind, Templates};
use crate::config::{Config, MailTransport, SmtpTls};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("config key `{0}`: {1}")]
    Config(&'static str, String),
    // No address in the message: errors are logged, addresses are not.
    #[error("not a mail address")]
    Address,
    #[error("building the message: {0}")]
    Build(String),
    #[error("sending: {0}")]
    Send(String),
    #[error("sending took longer than {0} s")]
    Timeout(u64),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
    Log,
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    timeout: Duration,
    pub templates: Templates,
    pub counters: Counters,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(config: &Config) -> Result<Mailer, MailError> {
        let from: Mailbox = config
            .mail
            .mail_from
            .parse()
            .map_err(|e| MailError::Config("mail_from", format!("{e}")))?;
        let timeout = Duration::from_secs(config.mail.mail_timeout);
        let transport = match config.mail.mail_transport {
            MailTransport::Log => Transport::Log,
            MailTransport::File => {
                std::fs::create_dir_all(&config.mail.mail_dir)
                    .map_err(|e| MailError::Config("mail_dir", e.to_string()))?;
                Transport::File(AsyncFileTransport::new(&config.mail.mail_dir))
            }
            MailTransport::Smtp => {
                let host = config.mail.smtp_host.as_str();
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .port(config.mail.smtp_port)
                    .timeout(Some(timeout));
                if config.mail.smtp_tls != SmtpTls::None {
                    let mut params = TlsParameters::builder(host.to_owned());
                    if let Some(path) = &config.mail.smtp_ca_file {
                        let pem = std::fs::read(path)
                            .map_err(|e| MailError::Config("smtp_ca_file", e.to_string()))?;
                        let cert = Certificate::from_pem(&pem)
                            .map_err(|e| MailError::Config("smtp_ca_file", e.to_string()))?;
                        params = params.add_root_certificate(cert);
                    }
                    let params = params
                        .build_rustls()
                        .map_err(|e| MailError::Config("smtp_host", e.to_string()))?;
                    builder = builder.tls(match config.mail.smtp_tls {
                        // STARTTLS is required: never fall back to plain text.
                        SmtpTls::Starttls => Tls::Required(params),
                        _ => Tls::Wrapper(params),
                    });
                }
                if let (Some(user), Some(pass)) =
                    (&config.mail.smtp_username, &config.mail.smtp_password)
                {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        pass.expose_secret().to_owned(),
                    ));
                }
                Transport::Smtp(builder.build())
            }
        };
        let templates = super::templates::Templates::load(config.mail.mail_templates.as_deref())
            .map_err(|e| MailError::Config("mail_templates", e.to_string()))?;
        Ok(Mailer {
            transport,
            from,
            timeout,
            templates,
            counters: Counters::default(),
        })
    }

    /// Renders `kind` with `vars` and sends it to `to`.
    pub async fn send(&self, to: &str, kind: Kind, vars: &[(&str, &str)]) -> Result<(), MailError> {
        let result = self.try_send(to, kind, vars).await;
        self.counters.record(result.is_ok());
        if let Err(e) = &result {
            tracing::warn!(kind = ?kind, error = %crate::logging::Escaped(e), "mail not sent");
        }
        result
    }

    async fn try_send(&self, to: &str, kind: Kind, vars: &[(&str, &str)]) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Address)?;
        let mail = self.templates.mail(kind, vars);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            // lettre leaves Message-ID out unless asked.
            .message_id(None)
            .date_now()
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| MailError::Build(e.to_string()))?;
        let send = async {
            match &self.transport {
                Transport::Smtp(t) => t
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|e| MailError::Send(e.to_string())),
                Transport::File(t) => t
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|e| MailError::Send(e.to_string())),
                Transport::Log => {
                    tracing::info!(kind = ?kind, "mail (log transport, not sent)");
                    Ok(())
                }
            }
        };
        tokio::time::timeout(self.timeout, send)
            .await
            .map_err(|_| MailError::Timeout(self.timeout.as_secs()))?
    }
}
