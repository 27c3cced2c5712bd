//! Everything a new password must pass: the policy's rules, then (when
//! configured) the breached-password lookup.

use super::password_policy::{BreachCheck, BreachVerdict, PasswordPolicy};

#[derive(Debug)]
pub struct PasswordRules {
    pub policy: PasswordPolicy,
    pub breach: Option<BreachCheck>,
    pub server_name: String,
}

impl PasswordRules {
    /// End-user messages for every rule `password` breaks; empty when it
    /// may be used. The breach lookup runs only for otherwise good passwords.
    pub async fn problems(&self, password: &str, email: &str, full_name: &str) -> Vec<String> {
        self.problems_with(&self.policy, password, email, full_name)
            .await
    }

    /// As `problems`, under another policy (`user-validatepass` overrides).
    pub async fn problems_with(
        &self,
        policy: &PasswordPolicy,
        password: &str,
        email: &str,
        full_name: &str,
    ) -> Vec<String> {
        let mut messages = policy.check(password, email, full_name, &self.server_name);
        if !messages.is_empty() {
            return messages;
        }
        let Some(breach) = &self.breach else {
            return messages;
        };
        match breach.check(password, policy.min_pwned_matches).await {
            BreachVerdict::Clean => {}
            BreachVerdict::Breached { count } => messages.push(format!(
                "Your password was found {count} times in a database of passwords \
                 exposed in data breaches and is not secure."
            )),
            BreachVerdict::Unknown if breach.fail_closed => messages.push(
                "Your password could not be checked against known breaches right now. \
                 Please try again later."
                    .into(),
            ),
            BreachVerdict::Unknown => {}
        }
        messages
    }
}
