//! SMS: how text messages leave (Twilio, a JSON webhook, a file or the log)
//! and how phone numbers are read.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::secret::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsSender {
    Twilio,
    Webhook,
    File,
    Log,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsConfig {
    /// How SMS leave: `twilio`, `webhook`, `file` or `log` (the default).
    pub sms_sender: SmsSender,
    pub twilio_account_sid: Option<String>,
    #[serde(serialize_with = "crate::secret::redacted")]
    pub twilio_auth_token: Option<SecretString>,
    /// The sending number, E.164.
    pub twilio_from: Option<String>,
    /// Twilio's API base, overridable to point at a test server.
    pub twilio_base_url: String,
    /// The generic JSON webhook (`{"to", "body"}` POSTed).
    #[serde(serialize_with = "crate::secret::redacted")]
    pub sms_webhook_url: Option<SecretString>,
    /// Where the `file` SMS sender writes.
    pub sms_dir: PathBuf,
    /// Region for phone numbers written without `+country` (ISO 3166, e.g. `US`).
    pub sms_default_region: String,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            sms_sender: SmsSender::Log,
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_base_url: "https://api.twilio.com".into(),
            sms_webhook_url: None,
            sms_dir: PathBuf::from("./sms"),
            sms_default_region: "US".into(),
        }
    }
}

impl SmsConfig {
    /// What the chosen sender cannot do without.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.sms_sender == SmsSender::Twilio {
            for (key, value) in [
                ("twilio_account_sid", &self.twilio_account_sid),
                (
                    "twilio_auth_token",
                    &self
                        .twilio_auth_token
                        .as_ref()
                        .map(|t| t.expose_secret().to_owned()),
                ),
                ("twilio_from", &self.twilio_from),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    return Err(ConfigError::invalid(
                        key,
                        "required when sms_sender is twilio",
                    ));
                }
            }
        }
        if self.sms_sender == SmsSender::Webhook && self.sms_webhook_url.is_none() {
            return Err(ConfigError::invalid(
                "sms_webhook_url",
                "required when sms_sender is webhook",
            ));
        }
        Ok(())
    }
}
