//! The id-token signing key: RSA (RS256, which every relying party
//! verifies and the specification requires), sealed in `server_keys` like
//! the other server keys. The row's `public_key` holds the key's RFC 7638
//! thumbprint (its `kid`): the public half is derived from the secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, KeyAlgorithm, PublicKeyUse, RSAKeyParameters,
    RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::Sealer;
use crate::store;

/// `server_keys.purpose` of the id-token keys.
pub const ID_TOKEN_KEY: &str = "oidc-rs256";
const RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("id-token key: database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("id-token key: {0}")]
    Rsa(String),
    #[error(
        "id-token key (server_keys row {0}) opens with no key of the key ring: \
         put back the key it was sealed under"
    )]
    Unseal(i64),
}

/// The key in use: its `kid`, the signer and the public JWK.
pub struct IdTokenKey {
    kid: String,
    signing: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for IdTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdTokenKey({})", self.kid)
    }
}

fn rsa_err(e: impl std::fmt::Display) -> KeyError {
    KeyError::Rsa(e.to_string())
}

fn jwk_of(key: &rsa::RsaPublicKey) -> Jwk {
    let mut jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::RS256),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }),
    };
    jwk.common.key_id = Some(jwk.thumbprint(ThumbprintHash::SHA256));
    jwk
}

fn from_private(key: &rsa::RsaPrivateKey) -> Result<IdTokenKey, KeyError> {
    let jwk = jwk_of(&key.to_public_key());
    let kid = jwk.common.key_id.clone().unwrap_or_default();
    let der = key.to_pkcs1_der().map_err(rsa_err)?;
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return Err(KeyError::Rsa("not an RSA key".into()));
    };
    let decoding = DecodingKey::from_rsa_components(&rsa.n, &rsa.e).map_err(rsa_err)?;
    Ok(IdTokenKey {
        kid,
        signing: EncodingKey::from_rsa_der(der.as_bytes()),
        decoding,
        jwk,
    })
}

/// The key in use, made now if there is none. Of several servers starting
/// at once, the oldest row wins.
pub async fn load_or_create(
    db: &impl ConnectionTrait,
    seals: &Sealer,
    now: chrono::NaiveDateTime,
) -> Result<IdTokenKey, KeyError> {
    if store::pubkey::server_key(db, ID_TOKEN_KEY).await?.is_none() {
        // Generating takes a while: off the async workers.
        let key = tokio::task::spawn_blocking(|| {
            rsa::RsaPrivateKey::new(&mut rand_core::OsRng, RSA_BITS)
        })
        .await
        .map_err(rsa_err)?
        .map_err(rsa_err)?;
        let made = from_private(&key)?;
        let der = key.to_pkcs8_der().map_err(rsa_err)?;
        let Some(sealed) = seals.seal(der.as_bytes()) else {
            return Err(KeyError::Rsa("the key ring is empty".into()));
        };
        store::pubkey::insert_server_key(db, ID_TOKEN_KEY, made.kid.clone(), sealed, now).await?;
    }
    let Some(row) = store::pubkey::server_key(db, ID_TOKEN_KEY).await? else {
        return Err(KeyError::Db(sea_orm::DbErr::RecordNotFound(
            ID_TOKEN_KEY.into(),
        )));
    };
    for opened in seals.open_each(&row.sealed_secret) {
        let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_der(&opened.plain) else {
            continue;
        };
        let loaded = from_private(&key)?;
        if loaded.kid != row.public_key {
            continue;
        }
        if opened.stale
            && let Some(sealed) = seals.seal(&opened.plain)
        {
            store::pubkey::reseal_server_key(db, row.id, sealed).await?;
        }
        return Ok(loaded);
    }
    Err(KeyError::Unseal(row.id))
}

impl IdTokenKey {
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing).map_err(rsa_err)
    }

    /// The public key, for the JWKS.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The claims of an id token this key signed for `iss`, for any
    /// audience (the caller checks `aud`): signature and issuer only, as a
    /// hint (`id_token_hint`) may have expired.
    pub fn verify_hint<C: DeserializeOwned>(&self, token: &str, iss: &str) -> Option<C> {
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[iss]);
        v.validate_aud = false;
        v.validate_exp = false;
        v.set_required_spec_claims(&["iss", "aud", "sub"]);
        jsonwebtoken::decode::<C>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}
