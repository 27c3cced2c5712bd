//! The WebAuthn relying party (webauthn-rs): built once from the config,
//! with its errors as refusals and the stored form of credentials.

use authnzd_proto::Refusal;
use webauthn_rs::prelude::{
    Credential, Passkey, RegisterPublicKeyCredential, SecurityKey, Url, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use crate::config::{Config, UserVerification};

/// The relying party and its policy.
#[derive(Debug)]
pub struct RelyingParty {
    pub webauthn: Webauthn,
    pub user_verification: UserVerification,
    pub aaguids: Vec<uuid::Uuid>,
}

impl RelyingParty {
    /// `None` while passkeys are off (validation has refused a config that
    /// cannot build).
    pub fn of(config: &Config) -> Option<RelyingParty> {
        let rp = config
            .webauthn
            .relying_party(&config.portal, &config.server.server_name)
            .ok()??;
        let first: &Url = rp.origins.first()?;
        let mut builder = WebauthnBuilder::new(&rp.id, first)
            .ok()?
            .rp_name(&rp.name)
            .danger_set_user_presence_only_security_keys(
                rp.user_verification == UserVerification::Discouraged,
            );
        for o in rp.origins.iter().skip(1) {
            builder = builder.append_allowed_origin(o);
        }
        match builder.build() {
            Ok(webauthn) => Some(RelyingParty {
                webauthn,
                user_verification: rp.user_verification,
                aaguids: rp.aaguids,
            }),
            Err(e) => {
                tracing::error!(error = %e, "passkeys off: the relying party does not build");
                None
            }
        }
    }

    /// Whether a registration's authenticator model may register.
    pub fn model_allowed(&self, reg: &RegisterPublicKeyCredential) -> bool {
        self.aaguids.is_empty()
            || aaguid(&reg.response.attestation_object).is_some_and(|a| self.aaguids.contains(&a))
    }
}

/// The AAGUID in an attestation object's authenticator data (bytes 37..53:
/// after the RP ID hash, flags and counter).
fn aaguid(attestation_object: &[u8]) -> Option<uuid::Uuid> {
    use serde_cbor_2::Value;
    let Value::Map(map) = serde_cbor_2::from_slice::<Value>(attestation_object).ok()? else {
        return None;
    };
    let auth_data = map.iter().find_map(|(k, v)| match (k, v) {
        (Value::Text(k), Value::Bytes(b)) if k == "authData" => Some(b),
        _ => None,
    })?;
    let bytes: [u8; 16] = auth_data.get(37..53)?.try_into().ok()?;
    Some(uuid::Uuid::from_bytes(bytes))
}

/// A webauthn-rs refusal as the reason the client gets.
pub fn refusal(e: &WebauthnError) -> Refusal {
    match e {
        WebauthnError::InvalidRPOrigin | WebauthnError::CredentialCrossOrigin => {
            Refusal::PasskeyWrongOrigin
        }
        WebauthnError::InvalidRPIDHash => Refusal::PasskeyWrongRpId,
        WebauthnError::MismatchedChallenge => Refusal::PasskeyChallengeMismatch,
        WebauthnError::CredentialPossibleCompromise => Refusal::PasskeyCounterRegressed,
        WebauthnError::UserNotVerified => Refusal::PasskeyUserNotVerified,
        WebauthnError::CredentialBackupEligibilityInconsistent => Refusal::PasskeyBackupChanged,
        WebauthnError::CredentialNotFound => Refusal::PasskeyUnknown,
        WebauthnError::CredentialAlreadyExists | WebauthnError::CredentialExcludedFromRequest => {
            Refusal::PasskeyExists
        }
        _ => Refusal::PasskeyInvalid,
    }
}

/// The message that goes with a refusal of `refusal`.
pub fn message(reason: &Refusal) -> &'static str {
    match reason {
        Refusal::PasskeyWrongOrigin => "This passkey was used on a site that is not allowed.",
        Refusal::PasskeyWrongRpId => "This passkey is for another site.",
        Refusal::PasskeyChallengeMismatch => {
            "This passkey response answers another request; please try again."
        }
        Refusal::PasskeyCounterRegressed => {
            "This passkey may have been copied; it cannot sign in. Remove it and add it again."
        }
        Refusal::PasskeyUserNotVerified => {
            "Your passkey must check it is you (a PIN, a fingerprint or your face)."
        }
        Refusal::PasskeyBackupChanged => {
            "This passkey changed how it is backed up; remove it and add it again."
        }
        Refusal::PasskeyUnknown => "This passkey is not known here.",
        Refusal::PasskeyExists => "This passkey is registered already.",
        _ => "The passkey could not be checked; please try again.",
    }
}

/// A passkey as stored: webauthn-rs's JSON.
pub fn stored(p: &Passkey) -> Result<String, serde_json::Error> {
    serde_json::to_string(p)
}

pub fn parse(json: &str) -> Option<Passkey> {
    serde_json::from_str(json).ok()
}

/// The backup flags of a passkey: (eligible, state).
pub fn backup_flags(p: &Passkey) -> (bool, bool) {
    let c = Credential::from(p.clone());
    (c.backup_eligible, c.backup_state)
}

/// A presence-only security key kept in the same form as a passkey.
pub fn from_security_key(k: SecurityKey) -> Passkey {
    Passkey::from(Credential::from(k))
}

pub fn to_security_key(p: &Passkey) -> SecurityKey {
    SecurityKey::from(Credential::from(p.clone()))
}
