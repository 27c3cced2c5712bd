//! Mail: how messages leave (SMTP, `.eml` files or the log), the SMTP
//! server, the sender and the templates.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    Smtp,
    File,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailConfig {
    /// How mail leaves: `smtp`, `file` (one `.eml` per message in
    /// `mail_dir`) or `log` (logged, not sent; the default).
    pub mail_transport: MailTransport,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none`, `starttls` (required) or `tls` (implicit, port 465).
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    #[serde(serialize_with = "crate::secret::redacted")]
    pub smtp_password: Option<SecretString>,
    /// A PEM file of extra CA certificates to trust for the SMTP server (a
    /// private CA); the public web roots are trusted anyway.
    pub smtp_ca_file: Option<PathBuf>,
    /// `From:` of every message, `Name <address>` or a bare address.
    pub mail_from: String,
    /// Most seconds a send (mail or SMS) may take before the request fails.
    pub mail_timeout: u64,
    /// Where the `file` transport writes.
    pub mail_dir: PathBuf,
    /// A directory of template overrides (`magic_link.subject`,
    /// `magic_link.txt`, `magic_link.html`, `signup.*`, `forgotpass.*`).
    pub mail_templates: Option<PathBuf>,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            mail_transport: MailTransport::Log,
            smtp_host: "localhost".into(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_ca_file: None,
            mail_from: "authnzd <noreply@localhost>".into(),
            mail_timeout: 10,
            mail_dir: PathBuf::from("./mail"),
            mail_templates: None,
        }
    }
}
