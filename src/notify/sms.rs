//! SMS: Twilio's Messages API, a generic JSON webhook, a file (JSON lines)
//! or the log. Phone numbers are validated and written E.164.

use crate::secret::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::Counters;
use crate::config::{Config, SmsSender};

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("config key `{0}`: {1}")]
    Config(&'static str, String),
    #[error("sending: {0}")]
    Send(String),
    #[error("the SMS provider answered HTTP {0}")]
    Refused(u16),
}

#[derive(Debug)]
enum Sender {
    Twilio {
        url: String,
        sid: String,
        token: SecretString,
        from: String,
    },
    Webhook {
        url: SecretString,
    },
    File {
        path: PathBuf,
    },
    Log,
}

#[derive(Debug)]
pub struct Sms {
    sender: Sender,
    http: reqwest::Client,
    region: phonenumber::country::Id,
    pub counters: Counters,
}

/// A phone number as E.164 (`+15551234567`), or why it is not one.
pub fn e164(number: &str, region: phonenumber::country::Id) -> Result<String, String> {
    let parsed = phonenumber::parse(Some(region), number).map_err(|e| e.to_string())?;
    if !phonenumber::is_valid(&parsed) {
        return Err("not a valid phone number".into());
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

impl Sms {
    pub fn new(config: &Config) -> Result<Sms, SmsError> {
        let region = config
            .sms
            .sms_default_region
            .to_uppercase()
            .parse::<phonenumber::country::Id>()
            .map_err(|_| {
                SmsError::Config("sms_default_region", "not an ISO 3166 region code".into())
            })?;
        let missing =
            |key: &'static str| SmsError::Config(key, "required for this sms_sender".into());
        let sender = match config.sms.sms_sender {
            SmsSender::Twilio => {
                let sid = config
                    .sms
                    .twilio_account_sid
                    .clone()
                    .ok_or_else(|| missing("twilio_account_sid"))?;
                let from = config
                    .sms
                    .twilio_from
                    .as_deref()
                    .ok_or_else(|| missing("twilio_from"))?;
                Sender::Twilio {
                    url: format!(
                        "{}/2010-04-01/Accounts/{sid}/Messages.json",
                        config.sms.twilio_base_url.trim_end_matches('/')
                    ),
                    token: config
                        .sms
                        .twilio_auth_token
                        .clone()
                        .ok_or_else(|| missing("twilio_auth_token"))?,
                    from: e164(from, region).map_err(|e| SmsError::Config("twilio_from", e))?,
                    sid,
                }
            }
            SmsSender::Webhook => Sender::Webhook {
                url: config
                    .sms
                    .sms_webhook_url
                    .clone()
                    .ok_or_else(|| missing("sms_webhook_url"))?,
            },
            SmsSender::File => {
                std::fs::create_dir_all(&config.sms.sms_dir)
                    .map_err(|e| SmsError::Config("sms_dir", e.to_string()))?;
                Sender::File {
                    path: config.sms.sms_dir.join("sms.jsonl"),
                }
            }
            SmsSender::Log => Sender::Log,
        };
        crate::tls::install_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.mail.mail_timeout))
            .build()
            .map_err(|e| SmsError::Config("sms_sender", e.to_string()))?;
        Ok(Sms {
            sender,
            http,
            region,
            counters: Counters::default(),
        })
    }

    /// `number` as E.164, reading numbers without `+country` in the
    /// configured region.
    pub fn normalise(&self, number: &str) -> Result<String, String> {
        e164(number, self.region)
    }

    /// Sends `body` to `to` (E.164).
    pub async fn send(&self, to: &str, body: &str) -> Result<(), SmsError> {
        let result = self.try_send(to, body).await;
        self.counters.record(result.is_ok());
        if let Err(e) = &result {
            tracing::warn!(error = %crate::logging::Escaped(e), "SMS not sent");
        }
        result
    }

    async fn try_send(&self, to: &str, body: &str) -> Result<(), SmsError> {
        let request = match &self.sender {
            Sender::Twilio {
                url,
                sid,
                token,
                from,
            } => self
                .http
                .post(url)
                .basic_auth(sid, Some(token.expose_secret()))
                .form(&[("To", to), ("From", from.as_str()), ("Body", body)]),
            Sender::Webhook { url } => self
                .http
                .post(url.expose_secret())
                .json(&json!({"to": to, "body": body})),
            Sender::File { path } => {
                use tokio::io::AsyncWriteExt;
                let line = format!("{}\n", json!({"to": to, "body": body}));
                let mut f = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(|e| SmsError::Send(e.to_string()))?;
                // tokio's File writes in the background: flush to know the
                // line is written (and to hear of a failure).
                f.write_all(line.as_bytes())
                    .await
                    .map_err(|e| SmsError::Send(e.to_string()))?;
                return f.flush().await.map_err(|e| SmsError::Send(e.to_string()));
            }
            Sender::Log => {
                tracing::info!("SMS (log sender, not sent)");
                return Ok(());
            }
        };
        // Without the URL: a webhook's may carry credentials.
        let res = request
            .send()
            .await
            .map_err(|e| SmsError::Send(e.without_url().to_string()))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(SmsError::Refused(res.status().as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_e164() {
        let us = phonenumber::country::Id::US;
        assert_eq!(e164("(201) 555-0123", us).unwrap(), "+12015550123");
        assert_eq!(e164("+44 20 7946 0958", us).unwrap(), "+442079460958");
        assert!(e164("12", us).is_err());
        assert!(e164("not a number", us).is_err());
    }
}
