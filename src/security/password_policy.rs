//! authnzerver's password rules: minimum length, not a common password, not
//! too similar to the server name / email / full name, no character over a
//! share of the password, not all digits; and the optional breached-password
//! lookup (k-anonymity: only five hex digits of the SHA-1 leave the server).
//!
//! The common-password list is zxcvbn's password frequency list, compiled
//! into the binary; similarity is `similar`'s ratio (difflib's measure).

use std::time::Duration;

use sha1::{Digest, Sha1};

/// Passwords zxcvbn expects an attacker working from the common-password
/// lists to reach within this many guesses are refused. Every entry of
/// authnzerver's top-10k list falls under it, and so do trivial variations of
/// the top entries ("password1234", "monkey123456").
const COMMON_GUESSES: u64 = 20_000;

#[derive(Debug, Clone, PartialEq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// Percent similarity (0-100) at or above which a password is refused.
    pub max_unsafe_similarity: u32,
    /// Largest share of the password one character may take.
    pub max_char_frequency: f64,
    /// Breach count from which a password counts as breached.
    pub min_pwned_matches: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("`{0}` is not `name:value`")]
    Syntax(String),
    #[error("unknown rule `{0}`")]
    UnknownRule(String),
    #[error("bad value for `{0}`")]
    BadValue(String),
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 12,
            max_unsafe_similarity: 50,
            max_char_frequency: 0.3,
            min_pwned_matches: 25,
        }
    }
}

/// authnzerver's `squeeze`: runs of control characters and spaces become one
/// space; trimmed.
fn squeeze(s: &str) -> String {
    s.split(|c: char| c <= ' ')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl PasswordPolicy {
    /// Parses `"min_pass_length:12; max_unsafe_similarity:50;
    /// max_char_frequency:0.3; min_pwned_matches:25"`; rules left out keep
    /// their defaults.
    pub fn parse(s: &str) -> Result<PasswordPolicy, PolicyError> {
        let mut p = PasswordPolicy::default();
        for part in s.split(';').map(str::trim).filter(|x| !x.is_empty()) {
            let (name, value) = part
                .split_once(':')
                .ok_or_else(|| PolicyError::Syntax(part.to_owned()))?;
            let (name, value) = (name.trim(), value.trim());
            let bad = || PolicyError::BadValue(name.to_owned());
            match name {
                "min_pass_length" => p.min_length = value.parse().map_err(|_| bad())?,
                "max_unsafe_similarity" => {
                    p.max_unsafe_similarity =
                        value.parse().ok().filter(|v| *v <= 100).ok_or_else(bad)?
                }
                "max_char_frequency" | "max_character_frequency" => {
                    p.max_char_frequency = value
                        .parse()
                        .ok()
                        .filter(|v: &f64| *v > 0.0 && *v <= 1.0)
                        .ok_or_else(bad)?
                }
                "min_pwned_matches" => p.min_pwned_matches = value.parse().map_err(|_| bad())?,
                other => return Err(PolicyError::UnknownRule(other.to_owned())),
            }
        }
        Ok(p)
    }

    /// End-user messages for every rule broken (empty: acceptable), worded
    /// as authnzerver words them. The breach lookup is separate.
    pub fn check(
        &self,
        password: &str,
        email: &str,
        full_name: &str,
        server_name: &str,
    ) -> Vec<String> {
        let mut messages = Vec::new();
        if squeeze(password).chars().count() < self.min_length {
            messages.push(format!(
                "Your password is too short. It must have at least {} characters.",
                self.min_length
            ));
        }
        if is_common(password) {
            messages.push(
                "Your password is on the list of the most common passwords and is vulnerable to guessing."
                    .into(),
            );
        }
        let folded = squeeze(&password.to_lowercase());
        let too_similar = [server_name, email, full_name]
            .iter()
            .filter(|other| !other.trim().is_empty())
            .any(|other| {
                similarity(&folded, &other.to_lowercase()) >= f64::from(self.max_unsafe_similarity)
            });
        if too_similar {
            messages.push(
                "Your password is too similar to either the domain name of this server or your own name or email address."
                    .into(),
            );
        }
        if char_share_too_high(password, self.max_char_frequency) {
            messages.push(
                "Your password is not complex enough. One or more characters appear too frequently.".into(),
            );
        }
        if !password.is_empty() && password.chars().all(|c| c.is_numeric()) {
            messages.push("Your password cannot be all numbers.".into());
        }
        messages
    }
}

/// Percent similarity, difflib style: 2·matches / total length × 100.
fn similarity(a: &str, b: &str) -> f64 {
    f64::from(similar::TextDiff::from_chars(a, b).ratio()) * 100.0
}

fn char_share_too_high(password: &str, max_share: f64) -> bool {
    let total = password.chars().count();
    if total == 0 {
        return false;
    }
    let mut counts = std::collections::HashMap::new();
    for c in password.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    counts
        .values()
        .any(|n| *n as f64 / total as f64 > max_share)
}

/// Whether the (case-folded) password is common: see `COMMON_GUESSES`.
fn is_common(password: &str) -> bool {
    let folded = password.trim().to_lowercase();
    !folded.is_empty() && zxcvbn::zxcvbn(&folded, &[]).guesses() <= COMMON_GUESSES
}

/// The answer of a breached-password lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreachVerdict {
    Clean,
    Breached {
        count: u64,
    },
    /// The lookup failed; `BreachCheck::fail_closed` says what that means.
    Unknown,
}

/// A range-API lookup (`GET {base_url}/{5 hex}` answering `SUFFIX:COUNT`
/// lines, as Have I Been Pwned's Pwned Passwords API does).
#[derive(Debug)]
pub struct BreachCheck {
    pub base_url: String,
    pub fail_closed: bool,
    http: reqwest::Client,
}

impl BreachCheck {
    pub fn new(
        base_url: String,
        fail_closed: bool,
        timeout: Duration,
    ) -> Result<BreachCheck, reqwest::Error> {
        crate::tls::install_provider();
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(BreachCheck {
            base_url: base_url.trim_end_matches('/').to_owned(),
            fail_closed,
            http,
        })
    }

    pub async fn check(&self, password: &str, min_matches: u32) -> BreachVerdict {
        let digest = hex::encode_upper(Sha1::digest(password.as_bytes()));
        let (prefix, suffix) = digest.split_at(5);
        let url = format!("{}/{prefix}", self.base_url);
        let body = match self
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
        {
            Ok(res) => match res.text().await {
                Ok(t) => t,
                Err(_) => return BreachVerdict::Unknown,
            },
            Err(e) => {
                // Without the URL: it holds the start of the password's SHA-1.
                tracing::warn!(error = %e.without_url(), "breached-password lookup failed");
                return BreachVerdict::Unknown;
            }
        };
        let count = body
            .lines()
            .filter_map(|l| l.trim().split_once(':'))
            .find(|(s, _)| s.eq_ignore_ascii_case(suffix))
            .and_then(|(_, n)| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if count >= u64::from(min_matches) && count > 0 {
            BreachVerdict::Breached { count }
        } else {
            BreachVerdict::Clean
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "tangerine-Voyage-8713-quartz";

    fn check(p: &str) -> Vec<String> {
        PasswordPolicy::default().check(p, "jane.doe@example.org", "Jane Doe", "auth.example.org")
    }

    #[test]
    fn a_good_password_passes() {
        assert!(check(GOOD).is_empty(), "{:?}", check(GOOD));
    }

    #[test]
    fn each_rule_refuses() {
        assert!(check("Short-1x").iter().any(|m| m.contains("too short")));
        assert!(
            check("password1234")
                .iter()
                .any(|m| m.contains("most common")),
            "{:?}",
            check("password1234")
        );
        assert!(
            check("jane.doe@example.org!")
                .iter()
                .any(|m| m.contains("too similar"))
        );
        assert!(
            check("aaaaaaaaaaaaaaaaaaaaab")
                .iter()
                .any(|m| m.contains("too frequently"))
        );
        assert!(
            check("839201746518")
                .iter()
                .any(|m| m.contains("all numbers"))
        );
    }

    #[test]
    fn parses_the_policy_string() {
        let p = PasswordPolicy::parse(
            "min_pass_length:16; max_unsafe_similarity:40; max_char_frequency:0.25; min_pwned_matches:5",
        )
        .unwrap();
        assert_eq!(p.min_length, 16);
        assert_eq!(p.max_unsafe_similarity, 40);
        assert_eq!(p.min_pwned_matches, 5);
        assert_eq!(
            PasswordPolicy::parse("").unwrap(),
            PasswordPolicy::default()
        );
        assert!(matches!(
            PasswordPolicy::parse("length:3"),
            Err(PolicyError::UnknownRule(_))
        ));
        assert!(matches!(
            PasswordPolicy::parse("min_pass_length:x"),
            Err(PolicyError::BadValue(_))
        ));
        assert!(matches!(
            PasswordPolicy::parse("min_pass_length"),
            Err(PolicyError::Syntax(_))
        ));
    }

    /// A one-shot range API on a real local socket.
    async fn range_server(body: String) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await.unwrap();
            let res = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(res.as_bytes()).await.unwrap();
        });
        format!("http://{addr}/range")
    }

    #[tokio::test]
    async fn breach_lookup_finds_the_suffix() {
        let digest = hex::encode_upper(Sha1::digest(GOOD.as_bytes()));
        let body = format!(
            "0000000000000000000000000000000000A:3\r\n{}:1234\r\n",
            &digest[5..]
        );
        let url = range_server(body).await;
        let check = BreachCheck::new(url, false, Duration::from_secs(5)).unwrap();
        assert_eq!(
            check.check(GOOD, 25).await,
            BreachVerdict::Breached { count: 1234 }
        );
    }

    #[tokio::test]
    async fn breach_lookup_below_the_threshold_or_absent_is_clean() {
        let digest = hex::encode_upper(Sha1::digest(GOOD.as_bytes()));
        let url = range_server(format!("{}:3\r\n", &digest[5..])).await;
        let check = BreachCheck::new(url, false, Duration::from_secs(5)).unwrap();
        assert_eq!(check.check(GOOD, 25).await, BreachVerdict::Clean);
    }

    #[tokio::test]
    async fn breach_lookup_with_no_server_is_unknown() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let check = BreachCheck::new(
            format!("http://127.0.0.1:{port}"),
            true,
            Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!(check.check(GOOD, 1).await, BreachVerdict::Unknown);
    }
}
