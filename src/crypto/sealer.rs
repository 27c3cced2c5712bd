//! Sealing secrets at rest: Fernet under keys derived from each key of the
//! ring for one `Label`. The newest seals, any opens; what an older key
//! opens can be sealed anew under the newest (when a ring key is retired).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use fernet::Fernet;

use super::{KeyRing, Label};
use crate::secret::{ExposeSecret, SecretBox};

pub struct Sealer(Vec<SecretBox<[u8; 32]>>);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer([REDACTED; {}])", self.0.len())
    }
}

/// What `open` found.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    pub plain: Vec<u8>,
    /// Opened with an older key than the newest: seal it anew.
    pub stale: bool,
}

impl Sealer {
    /// The sealer for `label` under every key of `ring`.
    pub fn of(ring: &KeyRing, label: Label) -> Sealer {
        Sealer(
            ring.derive_each(label)
                .into_iter()
                .map(|k| SecretBox::new(Box::new(k)))
                .collect(),
        )
    }

    fn fernets(&self) -> impl Iterator<Item = Fernet> + '_ {
        self.0
            .iter()
            .filter_map(|k| Fernet::new(&URL_SAFE.encode(k.expose_secret())))
    }

    /// `plain` sealed under the newest key; `None` only for an empty ring,
    /// which start-up refuses.
    pub fn seal(&self, plain: &[u8]) -> Option<String> {
        self.fernets().next().map(|f| f.encrypt(plain))
    }

    /// The plain text of `sealed`, opened with whichever key sealed it.
    pub fn open(&self, sealed: &str) -> Option<Opened> {
        self.fernets().enumerate().find_map(|(i, f)| {
            f.decrypt(sealed).ok().map(|plain| Opened {
                plain,
                stale: i > 0,
            })
        })
    }

    /// Each candidate opening of `sealed`, newest key first (a caller that
    /// can check what it opened picks the first that checks).
    pub fn open_each<'a>(&'a self, sealed: &'a str) -> impl Iterator<Item = Opened> + 'a {
        self.fernets().enumerate().filter_map(move |(i, f)| {
            f.decrypt(sealed).ok().map(|plain| Opened {
                plain,
                stale: i > 0,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_seals_any_opens_and_an_old_seal_is_stale() {
        let old = KeyRing::parse(&KeyRing::generate_key()).unwrap();
        let new_key = KeyRing::generate_key();
        let both = old.with_newest(&new_key).unwrap().unwrap();
        let sealed_old = Sealer::of(&old, Label::TotpSecrets).seal(b"s").unwrap();
        let sealer = Sealer::of(&both, Label::TotpSecrets);
        assert_eq!(
            sealer.open(&sealed_old),
            Some(Opened {
                plain: b"s".to_vec(),
                stale: true
            })
        );
        let fresh = sealer.seal(b"s").unwrap();
        assert!(!sealer.open(&fresh).unwrap().stale);
        // Another label is another key.
        assert_eq!(Sealer::of(&both, Label::ServerKeys).open(&fresh), None);
    }
}
