//! RP-initiated logout (`end_session_endpoint`): which client asks, where
//! the browser may go afterwards, and whether the request names the user
//! signed in (a valid `id_token_hint`), in which case no confirmation is
//! needed.

use super::claims::IdClaims;
use super::client::Client;
use super::{OidcError, Provider};
use crate::store;

/// A logout request, checked.
#[derive(Debug, Clone)]
pub struct Logout {
    pub client: Option<Client>,
    /// The registered `post_logout_redirect_uri`, with `state` added.
    pub back: Option<url::Url>,
    /// The `sub` of a valid `id_token_hint`.
    pub hinted_sub: Option<String>,
}

/// Checks the parameters: a hint must be ours and for the client named; a
/// `post_logout_redirect_uri` must be registered, exactly, for that client.
pub async fn check(provider: &Provider, params: &[(String, String)]) -> Result<Logout, OidcError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    let hint: Option<IdClaims> = match get("id_token_hint") {
        Some(t) => Some(provider.key.verify_hint(t, &provider.issuer).ok_or(
            OidcError::InvalidRequest("id_token_hint is not an id token of ours"),
        )?),
        None => None,
    };
    let client_id = match (get("client_id"), hint.as_ref().map(|h| h.aud.as_str())) {
        (Some(a), Some(b)) if a != b => {
            return Err(OidcError::InvalidRequest(
                "client_id is not the id_token_hint's audience",
            ));
        }
        (Some(id), _) | (None, Some(id)) => Some(id.to_owned()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => Some(
            store::oidc::client(&provider.app.db, id)
                .await?
                .map(Client::from)
                .ok_or(OidcError::InvalidRequest("unknown client"))?,
        ),
        None => None,
    };
    let back = match get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client
                .as_ref()
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return Err(OidcError::InvalidRequest(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            let mut url = url::Url::parse(uri)
                .map_err(|_| OidcError::InvalidRequest("post_logout_redirect_uri"))?;
            if let Some(state) = get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url)
        }
    };
    Ok(Logout {
        client,
        back,
        hinted_sub: hint.map(|h| h.sub),
    })
}
