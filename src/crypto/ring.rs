//! The key ring (Fernet keys, newest first) and the secrets derived from it.
//! Every derived secret is named by a `Label`: one place spells them, so a
//! typo cannot derive another key (and, say, silently un-enrol every TOTP
//! user).

use fernet::Fernet;

/// What a secret is derived for. The text is part of the derivation: never
/// change one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Keys one-time codes, recovery codes and client-address digests.
    OneTimeCodes,
    /// Seals TOTP secrets.
    TotpSecrets,
    /// Seals the server's own signing keys.
    ServerKeys,
    /// Seals the links that confirm a new email address.
    EmailChange,
    /// Seals the tokens of the links the portal mails (password reset,
    /// address verification).
    MailedLinks,
    /// Seals the state of passkey ceremonies in progress.
    PasskeyCeremonies,
    /// Keys the rate-limit keys kept in Redis (client addresses, address
    /// digests), so Redis holds no personal data.
    SharedLimitKeys,
}

impl Label {
    pub const fn as_str(self) -> &'static str {
        match self {
            Label::OneTimeCodes => "one-time codes",
            Label::TotpSecrets => "totp secrets",
            Label::ServerKeys => "server signing keys",
            Label::EmailChange => "email change links",
            Label::MailedLinks => "mailed links",
            Label::PasskeyCeremonies => "passkey ceremonies",
            Label::SharedLimitKeys => "shared rate-limit keys",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no Fernet key given")]
    Empty,
    #[error("key #{0} is not a Fernet key (32 bytes, URL-safe base64, 44 characters)")]
    Invalid(usize),
}

/// Fernet keys, newest first. Every key opens requests; a response is sealed
/// with the key that opened its request.
pub struct KeyRing {
    keys: Vec<Fernet>,
    /// Every key's text, newest first, for `derive` and `derive_each`.
    texts: Vec<Vec<u8>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({} keys)", self.keys.len())
    }
}

impl KeyRing {
    /// Parses keys separated by commas, whitespace or newlines.
    pub fn parse(text: &str) -> Result<KeyRing, KeyError> {
        let texts: Vec<&str> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|k| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty())
            .collect();
        let keys = texts
            .iter()
            .enumerate()
            .map(|(i, k)| Fernet::new(k).ok_or(KeyError::Invalid(i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        if texts.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(KeyRing {
            keys,
            texts: texts.iter().map(|t| t.as_bytes().to_vec()).collect(),
        })
    }

    /// A 256-bit secret for `label`, derived from the newest key
    /// (HMAC-SHA256), so it is stable across restarts and shared by every
    /// instance.
    pub fn derive(&self, label: Label) -> [u8; 32] {
        derive_from(
            self.texts.first().map_or(&[][..], Vec::as_slice),
            label.as_str(),
        )
    }

    /// As `derive`, from every key of the ring, newest first: what was
    /// sealed under an older key can still be opened (and sealed anew).
    pub fn derive_each(&self, label: Label) -> Vec<[u8; 32]> {
        self.texts
            .iter()
            .map(|t| derive_from(t, label.as_str()))
            .collect()
    }

    /// The Fernet keys themselves, newest first (the envelope's).
    pub(crate) fn fernets(&self) -> &[Fernet] {
        &self.keys
    }

    pub fn generate_key() -> String {
        Fernet::generate_key()
    }

    /// A short public name for each key, newest first: the first 16 hex
    /// digits of the SHA-256 of its text (which tells nothing of the key).
    pub fn fingerprints(&self) -> Vec<String> {
        use sha2::Digest;
        self.texts
            .iter()
            .map(|t| hex::encode(&sha2::Sha256::digest(t)[..8]))
            .collect()
    }

    /// The ring as a key file holds it: one key a line, newest first.
    pub fn to_file_text(&self) -> String {
        self.texts
            .iter()
            .map(|t| format!("{}\n", String::from_utf8_lossy(t)))
            .collect()
    }

    /// This ring with `key` in front (the newest); `None` when it is
    /// already in the ring.
    pub fn with_newest(&self, key: &str) -> Result<Option<KeyRing>, KeyError> {
        let added = KeyRing::parse(key)?;
        if added.len() != 1 {
            return Err(KeyError::Invalid(2));
        }
        if self.texts.contains(&added.texts[0]) {
            return Ok(None);
        }
        KeyRing::parse(&format!("{}\n{}", key.trim(), self.to_file_text())).map(Some)
    }

    /// This ring without key `index` (0: the newest); `None` when that
    /// would leave it empty or there is no such key.
    pub fn without(&self, index: usize) -> Option<KeyRing> {
        if index >= self.len() || self.len() == 1 {
            return None;
        }
        let kept: Vec<String> = self
            .texts
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
            .collect();
        KeyRing::parse(&kept.join("\n")).ok()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn derive_from(key_text: &[u8], purpose: &str) -> [u8; 32] {
    super::keyed::mac(
        key_text,
        &[b"authnzd derived secret v1\0", purpose.as_bytes()],
    )
}
