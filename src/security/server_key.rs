//! The server's own Ed25519 signing key: it signs the payload of every
//! `pubkey-challenge-new`, so an authenticator app can pin the server.
//!
//! Generated at first start and kept in `server_keys`, its secret sealed
//! with Fernet under a key derived from the server's key ring (any key of
//! the ring opens it; after a ring rotation it is sealed anew under the
//! newest). The oldest unretired row is the one in use, so servers that
//! start together on an empty database settle on the same key; rotating
//! means adding a row and retiring the old one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use sea_orm::{ConnectionTrait, DbErr};
use secrecy::zeroize::Zeroize;

use crate::crypto::{KeyRing, Label, Sealer};
use crate::security::tokens::{self, RandomError};
use crate::store;

/// `server_keys.purpose` of the payload-signing key.
pub const PAYLOAD_KEY: &str = "pubkey-payload";

pub struct ServerKey {
    signing: SigningKey,
    public: String,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerKey({})", self.public)
    }
}

impl ServerKey {
    fn new(signing: SigningKey) -> ServerKey {
        let public = STANDARD.encode(signing.verifying_key().to_bytes());
        ServerKey { signing, public }
    }

    /// The public key, standard base64 of its 32 bytes.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// An Ed25519 signature over `message`, standard base64 of its 64 bytes.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.signing.sign(message).to_bytes())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerKeyError {
    #[error("server signing key: database: {0}")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(
        "server signing key (server_keys row {0}) opens with no key of the key ring: \
         put back the key it was sealed under"
    )]
    Unseal(i64),
}

/// A new signing key and its sealed form under the newest key
/// (`None` sealed only if the ring is empty, which start-up prevents).
pub(crate) fn generate(
    seals: &Sealer,
) -> Result<(SigningKey, String, Option<String>), RandomError> {
    let mut secret = tokens::random_bytes::<32>()?;
    let signing = SigningKey::from_bytes(&secret);
    let sealed = seals.seal(&secret);
    secret.zeroize();
    let public = STANDARD.encode(signing.verifying_key().to_bytes());
    Ok((signing, public, sealed))
}

/// Opens a sealed key with any key of the ring, checked against its
/// public half. With it, the key sealed anew under the newest ring key when
/// it was opened with an older one.
pub(crate) fn unseal(
    seals: &Sealer,
    sealed: &str,
    public: &str,
) -> Option<(SigningKey, Option<String>)> {
    for mut opened in seals.open_each(sealed) {
        let bytes: Option<[u8; 32]> = opened.plain.as_slice().try_into().ok();
        opened.plain.zeroize();
        let Some(mut bytes) = bytes else { continue };
        let signing = SigningKey::from_bytes(&bytes);
        let resealed = if opened.stale {
            seals.seal(&bytes)
        } else {
            None
        };
        bytes.zeroize();
        if STANDARD.encode(signing.verifying_key().to_bytes()) != public {
            continue;
        }
        return Some((signing, resealed));
    }
    None
}

/// The key in use for `purpose`, made now if there is none.
pub async fn load_or_create(
    db: &impl ConnectionTrait,
    seals: &Sealer,
    purpose: &str,
    now: chrono::NaiveDateTime,
) -> Result<ServerKey, ServerKeyError> {
    if store::pubkey::server_key(db, purpose).await?.is_none() {
        let (_, public, sealed) = generate(seals)?;
        if let Some(sealed) = sealed {
            store::pubkey::insert_server_key(db, purpose, public, sealed, now).await?;
        }
    }
    // Read back: a server starting at the same moment may have written its
    // own first, and the oldest row wins.
    let Some(row) = store::pubkey::server_key(db, purpose).await? else {
        return Err(ServerKeyError::Db(DbErr::RecordNotFound(
            purpose.to_owned(),
        )));
    };
    let Some((signing, resealed)) = unseal(seals, &row.sealed_secret, &row.public_key) else {
        return Err(ServerKeyError::Unseal(row.id));
    };
    if let Some(sealed) = resealed {
        store::pubkey::reseal_server_key(db, row.id, sealed).await?;
    }
    Ok(ServerKey::new(signing))
}

/// Before a key leaves the ring (`authnzd key retire`): every server key,
/// of every purpose, that the ring staying (`after`) cannot open but the
/// ring now (`before`) can, is sealed anew under `after`'s newest key, so
/// the servers still start (and sign) after the retire. How many were.
pub async fn reseal_for(
    db: &impl ConnectionTrait,
    before: &KeyRing,
    after: &KeyRing,
) -> Result<usize, ServerKeyError> {
    let (old, new) = (
        Sealer::of(before, Label::ServerKeys),
        Sealer::of(after, Label::ServerKeys),
    );
    let mut resealed = 0;
    for row in store::pubkey::all_server_keys(db).await? {
        // Whatever the key's kind (Ed25519 here, RSA for id tokens): the
        // sealed bytes move as they are.
        if new.open(&row.sealed_secret).is_some() {
            continue;
        }
        let Some(mut opened) = old.open(&row.sealed_secret) else {
            continue;
        };
        let sealed = new.seal(&opened.plain);
        opened.plain.zeroize();
        let Some(sealed) = sealed else {
            return Ok(resealed);
        };
        store::pubkey::reseal_server_key(db, row.id, sealed).await?;
        resealed += 1;
    }
    Ok(resealed)
}
