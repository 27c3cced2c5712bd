//! The TOTP arithmetic (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of
//! drift either way) and recovery-code forms; no storage, no requests.

use totp_rs::{Algorithm, Builder, Totp};

use super::tokens::{self, RandomError};

pub const STEP_SECONDS: u64 = 30;
pub const DIGITS: usize = 6;
/// Recovery codes handed out at a time.
pub const RECOVERY_CODES: usize = 10;
/// Recovery codes: 10 characters from an alphabet without look-alikes.
const RECOVERY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// The generator for `secret`, labelled for an authenticator app.
pub fn generator(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Totp, String> {
    // `otpauth` labels use ':' as the separator; keep it out of both parts.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| e.to_string())
}

/// The time step whose code `code` is (the current one or either
/// neighbour; totp-rs compares in constant time).
pub fn matching_step(totp: &Totp, code: &str, now: u64) -> Option<i64> {
    totp.check(code, now).and_then(|s| i64::try_from(s).ok())
}

/// `code` if it has the shape of a TOTP code.
pub fn six_digits(code: &str) -> Option<&str> {
    let code = code.trim();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// A recovery code as stored: upper case, without separators.
pub fn recovery_form(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A fresh recovery code, `XXXXX-XXXXX`.
pub fn recovery_code() -> Result<String, RandomError> {
    let bytes = tokens::random_bytes::<10>()?;
    let chars: String = bytes
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_neighbouring_steps_match_and_others_do_not() {
        let totp = generator(vec![7; 20], "authnzd", "a@example.org").unwrap();
        let now = 1_800_000_015;
        let step = now / STEP_SECONDS;
        for s in [step - 1, step, step + 1] {
            let code = totp.generate(s * STEP_SECONDS).to_string();
            assert_eq!(matching_step(&totp, &code, now), Some(s as i64));
        }
        let far = totp.generate((step + 3) * STEP_SECONDS).to_string();
        assert_ne!(matching_step(&totp, &far, now), Some((step + 3) as i64));
    }

    #[test]
    fn only_six_digits_are_taken_as_totp_codes() {
        assert_eq!(six_digits(" 123456 "), Some("123456"));
        for bad in ["12345", "1234567", "12345a", "１２３４５６", ""] {
            assert_eq!(six_digits(bad), None, "{bad}");
        }
        assert_eq!(recovery_form("abcde-FGH2j"), "ABCDEFGH2J");
        let code = recovery_code().unwrap();
        assert_eq!(code.len(), 11);
        assert_eq!(recovery_form(&code).len(), 10);
    }
}
