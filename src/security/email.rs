//! Email addresses: the canonical stored form, and the checks a sign-up
//! address must pass (syntax, length, reserved names, disposable domains).
//!
//! Canonical form: trimmed, NFKC-normalised, lower-cased. MariaDB compares
//! strings case-insensitively and PostgreSQL does not, so only a canonical
//! form stored and looked up everywhere makes lookups agree.

use std::str::FromStr;

use email_address::EmailAddress;
use unicode_normalization::UnicodeNormalization;

/// RFC 5321's limit for a forward path.
const MAX_LEN: usize = 254;

/// Local parts that name a role or the system, not a person.
const RESERVED_LOCAL_PARTS: &[&str] = &[
    "abuse",
    "admin",
    "administrator",
    "hostmaster",
    "info",
    "mailer-daemon",
    "no-reply",
    "noreply",
    "nobody",
    "postmaster",
    "root",
    "security",
    "support",
    "sysadmin",
    "webmaster",
    "www",
    "anonuser",
    "dummyuser",
    "superuser",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("That doesn't look like an email address.")]
    Syntax,
    #[error("That email address is too long.")]
    TooLong,
    #[error("That email address is reserved and can't be used to sign up.")]
    ReservedName,
    #[error("Email addresses from disposable-mail services can't be used to sign up.")]
    Disposable,
}

/// The canonical stored and lookup form.
pub fn normalise(email: &str) -> String {
    email.trim().nfkc().collect::<String>().to_lowercase()
}

/// Validates a sign-up address; returns its canonical form.
pub fn validate_for_signup(email: &str) -> Result<String, EmailError> {
    let canonical = normalise(email);
    if canonical.chars().count() > MAX_LEN {
        return Err(EmailError::TooLong);
    }
    let parsed = EmailAddress::from_str(&canonical).map_err(|_| EmailError::Syntax)?;
    let (local, domain) = (parsed.local_part(), parsed.domain());
    // A bare host ("user@localhost") or an address literal is no mailbox a
    // user signs up with.
    if !domain.contains('.') || domain.starts_with('[') {
        return Err(EmailError::Syntax);
    }
    let base_local = local.split('+').next().unwrap_or(local);
    if RESERVED_LOCAL_PARTS.contains(&base_local) {
        return Err(EmailError::ReservedName);
    }
    if !mailchecker::is_valid(&canonical) {
        return Err(EmailError::Disposable);
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_width_and_space() {
        assert_eq!(normalise("  Jane.Doe@Example.ORG "), "jane.doe@example.org");
        // Fullwidth letters fold to ASCII under NFKC.
        assert_eq!(normalise("ｊａｎｅ@example.org"), "jane@example.org");
    }

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(
            validate_for_signup("Jane.Doe+news@Example.org").as_deref(),
            Ok("jane.doe+news@example.org")
        );
    }

    #[test]
    fn refuses_what_it_should() {
        assert_eq!(validate_for_signup("not an email"), Err(EmailError::Syntax));
        assert_eq!(
            validate_for_signup("jane@localhost"),
            Err(EmailError::Syntax)
        );
        assert_eq!(
            validate_for_signup(&format!("{}@example.org", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
        assert_eq!(
            validate_for_signup("postmaster@example.org"),
            Err(EmailError::ReservedName)
        );
        assert_eq!(
            validate_for_signup("Root+x@example.org"),
            Err(EmailError::ReservedName)
        );
        assert_eq!(
            validate_for_signup("someone@mailinator.com"),
            Err(EmailError::Disposable)
        );
        assert_eq!(
            validate_for_signup("someone@sub.mailinator.com"),
            Err(EmailError::Disposable)
        );
    }
}
