//! Access tokens: JWTs signed EdDSA (Ed25519) with the server's access-token
//! key, verified here (forward-auth) and by anyone holding the JWKS.
//!
//! The keys are `server_keys` rows of purpose `jwt-access`, sealed like the
//! payload key. One is in use (the oldest unretired); a rotation retires it
//! and adds a new one in one transaction. A retired key stays published
//! (and accepted) until every token it signed has expired, then is deleted.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::NaiveDateTime;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use crate::crypto::Sealer;
use crate::security::server_key::{self, ServerKeyError};
use crate::store;
use crate::store::signing_keys::Replace;

/// `server_keys.purpose` of the access-token keys.
pub const ACCESS_KEY: &str = "jwt-access";
/// How far in the future an `iat` may be (clocks of several servers).
const IAT_LEEWAY_SECS: i64 = 30;

/// How long a retired key stays published: until the last token it signed
/// (valid `access_ttl` seconds) has expired, with a minute for clock
/// differences.
pub fn publish_retired_for(access_ttl: u64) -> chrono::Duration {
    let ttl = i64::try_from(access_ttl).unwrap_or(i64::MAX);
    chrono::Duration::try_seconds(ttl.saturating_add(60)).unwrap_or(chrono::Duration::MAX)
}

/// An access token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id, as a string.
    pub sub: String,
    /// The session's id: the SHA-256 hex of its token, as stored (not a
    /// credential: no request takes it).
    pub sid: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// How the session was signed in (RFC 8176 style: `["pwd", "otp"]`);
    /// absent when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// When that sign-in was (Unix seconds), as OpenID Connect's claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The scopes granted (OpenID Connect access tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Why a presented JWT is refused (all are 401 at the gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtRefused {
    #[error("not a JWT")]
    Malformed,
    #[error("algorithm is not EdDSA")]
    Algorithm,
    #[error("no published key has this kid")]
    UnknownKey,
    #[error("signature, issuer or audience does not verify")]
    Invalid,
    #[error("expired")]
    Expired,
    #[error("issued in the future")]
    NotYetValid,
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("access-token keys: database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Key(#[from] ServerKeyError),
    #[error("access token signing: {0}")]
    Sign(String),
}

struct Published {
    kid: String,
    jwk: Jwk,
    decoding: DecodingKey,
}

/// The key in use and the keys published, as loaded at one moment.
pub struct AccessKeys {
    signing_kid: String,
    signing: EncodingKey,
    /// Row id and creation of the key in use (the rotation schedule).
    pub in_use: (i64, NaiveDateTime),
    published: Vec<Published>,
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.published.iter().map(|p| p.kid.as_str()).collect();
        write!(
            f,
            "AccessKeys(signing {}, published {kids:?})",
            self.signing_kid
        )
    }
}

/// The JWK of an Ed25519 public key (standard base64 of 32 bytes) with its
/// RFC 7638 thumbprint as `kid`.
fn jwk_of(public: &str) -> Option<(String, Jwk)> {
    let bytes = STANDARD.decode(public).ok()?;
    let mut jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(bytes),
        }),
    };
    let kid = jwk.thumbprint(ThumbprintHash::SHA256);
    jwk.common.key_id = Some(kid.clone());
    Some((kid, jwk))
}

/// Loads the key set, making the first key if there is none. Keys retired
/// more than `publish_retired_for` ago are left out.
pub async fn load(
    db: &DatabaseConnection,
    seals: &Sealer,
    now: NaiveDateTime,
    publish_retired_for: chrono::Duration,
) -> Result<AccessKeys, JwtError> {
    let mut rows = store::signing_keys::all(db, ACCESS_KEY).await?;
    if !rows.iter().any(|r| r.retired.is_none()) {
        rotate(db, seals, now, Replace::Any).await?;
        rows = store::signing_keys::all(db, ACCESS_KEY).await?;
    }
    let cutoff = now.checked_sub_signed(publish_retired_for).unwrap_or(now);
    let mut signing = None;
    let mut published = Vec::new();
    for row in rows {
        if row.retired.is_some_and(|r| r < cutoff) {
            continue;
        }
        let opened = server_key::unseal(seals, &row.sealed_secret, &row.public_key);
        let in_use = signing.is_none() && row.retired.is_none();
        let Some((key, resealed)) = opened else {
            if in_use {
                return Err(ServerKeyError::Unseal(row.id).into());
            }
            tracing::warn!(
                id = row.id,
                "retired access-token key does not open; not published"
            );
            continue;
        };
        if let Some(sealed) = resealed {
            store::pubkey::reseal_server_key(db, row.id, sealed).await?;
        }
        let Some((kid, jwk)) = jwk_of(&row.public_key) else {
            continue;
        };
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        let decoding =
            DecodingKey::from_ed_components(&x).map_err(|e| JwtError::Sign(e.to_string()))?;
        if in_use {
            let der = key
                .to_pkcs8_der()
                .map_err(|e| JwtError::Sign(e.to_string()))?;
            signing = Some((
                kid.clone(),
                EncodingKey::from_ed_der(der.as_bytes()),
                (row.id, row.created),
            ));
        }
        published.push(Published { kid, jwk, decoding });
    }
    let Some((signing_kid, signing, in_use)) = signing else {
        return Err(JwtError::Sign("no access-token key in use".into()));
    };
    Ok(AccessKeys {
        signing_kid,
        signing,
        in_use,
        published,
    })
}

/// Retires the key in use (per `replace`) and adds a new one. False when
/// `Replace::IfOlder` had nothing to do (another server rotated first).
pub async fn rotate(
    db: &DatabaseConnection,
    seals: &Sealer,
    now: NaiveDateTime,
    replace: Replace,
) -> Result<bool, JwtError> {
    let (_, public, sealed) = server_key::generate(seals).map_err(ServerKeyError::from)?;
    let Some(sealed) = sealed else {
        return Err(JwtError::Sign("the key ring is empty".into()));
    };
    Ok(store::signing_keys::rotate(db, ACCESS_KEY, replace, public, sealed, now).await?)
}

impl AccessKeys {
    /// The signed token.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, JwtError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing)
            .map_err(|e| JwtError::Sign(e.to_string()))
    }

    /// Whether `kid` is one of ours (an unknown one may be newer than this
    /// set: reload and ask again).
    pub fn knows(&self, kid: &str) -> bool {
        self.published.iter().any(|p| p.kid == kid)
    }

    /// The claims of a token signed by a published key, for `iss` and `aud`,
    /// valid at `now` (Unix seconds).
    pub fn verify(
        &self,
        token: &str,
        iss: &str,
        aud: &str,
        now: i64,
    ) -> Result<AccessClaims, JwtRefused> {
        self.verify_for(token, iss, Some(aud), now)
    }

    /// As `verify`, for any audience (the caller checks `aud` itself).
    pub fn verify_issued(
        &self,
        token: &str,
        iss: &str,
        now: i64,
    ) -> Result<AccessClaims, JwtRefused> {
        self.verify_for(token, iss, None, now)
    }

    fn verify_for(
        &self,
        token: &str,
        iss: &str,
        aud: Option<&str>,
        now: i64,
    ) -> Result<AccessClaims, JwtRefused> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtRefused::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(JwtRefused::Algorithm);
        }
        let kid = header.kid.ok_or(JwtRefused::UnknownKey)?;
        let key = self
            .published
            .iter()
            .find(|p| p.kid == kid)
            .ok_or(JwtRefused::UnknownKey)?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&[iss]);
        match aud {
            Some(aud) => v.set_audience(&[aud]),
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Time is checked below against our clock, not the library's.
        v.validate_exp = false;
        v.validate_nbf = false;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &v)
            .map_err(|_| JwtRefused::Invalid)?
            .claims;
        if claims.exp <= now {
            return Err(JwtRefused::Expired);
        }
        if claims.iat > now.saturating_add(IAT_LEEWAY_SECS) {
            return Err(JwtRefused::NotYetValid);
        }
        Ok(claims)
    }

    /// `/.well-known/jwks.json`: every published key.
    pub fn jwks(&self) -> String {
        let set = JwkSet {
            keys: self.published.iter().map(|p| p.jwk.clone()).collect(),
        };
        serde_json::to_string(&set).unwrap_or_else(|_| r#"{"keys":[]}"#.into())
    }
}
