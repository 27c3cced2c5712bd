//! `authnzd client …`: the OpenID Connect relying parties on the configured
//! database. A confidential client's secret is printed once, when made or
//! rotated; only its digest is kept.

use authnzd::config::Config;
use authnzd::oidc::client::{self as rules, Client, SCOPES};
use authnzd::store;
use clap::Subcommand;
use entity::oidc_clients;
use serde_json::json;

use super::CliError;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client (confidential unless --public).
    #[command(
        after_help = "Examples:\n  authnzd client add grafana --name Grafana \\\n    --redirect-uri https://grafana.example.com/login/generic_oauth --scopes 'openid profile email groups'\n  \
authnzd client add spa --public --redirect-uri http://127.0.0.1:5173/callback"
    )]
    Add {
        /// The client id (1 to 64 letters, digits, '-', '_' or '.').
        client_id: String,
        /// The name the consent page shows.
        #[arg(long)]
        name: Option<String>,
        /// Where codes may be sent (exact match; repeat for more).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where a sign-out may return to (repeat for more).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The scopes it may ask for.
        #[arg(long, default_value = "openid profile email groups")]
        scopes: String,
        /// A role whose users may sign in to it (repeat; none: every role).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A public client (a browser or native app): no secret, PKCE.
        #[arg(long)]
        public: bool,
        /// The operator's own app: no consent page.
        #[arg(long)]
        first_party: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Give a confidential client a new secret (the old one stops working).
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client, its codes and its users' consents.
    Delete { client_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Invalid(String),
    #[error("no client `{0}`")]
    NotFound(String),
    #[error("a client `{0}` exists already")]
    Exists(String),
    #[error("client `{0}` is public: it has no secret")]
    Public(String),
    #[error("cannot make a secret: {0}")]
    Random(String),
}

pub async fn run(config: Config, command: &ClientCommand) -> Result<(), CliError> {
    let opened = authnzd::open(config, std::sync::Arc::new(authnzd::clock::SystemClock)).await?;
    super::user::tell_report(&opened.report);
    let app = opened.app;
    let result = command_on(&app, command).await;
    app.db.clone().close().await.ok();
    Ok(result?)
}

fn view(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id,
        "name": c.name,
        "public": c.is_public(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "scopes": c.scopes,
        "roles": c.roles,
        "first_party": c.first_party,
    })
}

fn print(c: &Client, secret: Option<&str>, json: bool) {
    if json {
        let mut v = view(c);
        if let (Some(secret), Some(o)) = (secret, v.as_object_mut()) {
            o.insert("client_secret".into(), secret.into());
        }
        println!("{v}");
        return;
    }
    println!("client_id:     {}", c.id);
    println!("name:          {}", c.name);
    println!(
        "type:          {}",
        if c.is_public() {
            "public (PKCE)"
        } else {
            "confidential"
        }
    );
    println!("redirect_uris: {}", c.redirect_uris.join(" "));
    if !c.post_logout_redirect_uris.is_empty() {
        println!("post_logout:   {}", c.post_logout_redirect_uris.join(" "));
    }
    println!("scopes:        {}", c.scopes.join(" "));
    let roles = if c.roles.is_empty() {
        "every role".to_owned()
    } else {
        c.roles.join(" ")
    };
    println!("roles:         {roles}");
    println!("first_party:   {}", c.first_party);
    if let Some(secret) = secret {
        println!("client_secret: {secret}   (shown once: store it now)");
    }
}

async fn command_on(app: &authnzd::app::App, command: &ClientCommand) -> Result<(), ClientError> {
    let invalid = |what: &str, why: &str| ClientError::Invalid(format!("{what}: {why}"));
    match command {
        ClientCommand::Add {
            client_id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            scopes,
            roles,
            public,
            first_party,
            json,
        } => {
            rules::check_client_id(client_id).map_err(|w| invalid("client_id", w))?;
            for uri in redirect_uris.iter().chain(post_logout_redirect_uris) {
                if uri.chars().any(char::is_whitespace) {
                    return Err(invalid(uri, "must not contain spaces"));
                }
                rules::check_redirect_uri(uri).map_err(|w| invalid(uri, w))?;
            }
            for s in scopes.split_whitespace() {
                if !SCOPES.contains(&s) {
                    return Err(invalid(s, &format!("is not one of {}", SCOPES.join(", "))));
                }
            }
            let name = name.clone().unwrap_or_else(|| client_id.clone());
            if name.trim().is_empty() || name.chars().count() > 200 {
                return Err(invalid("--name", "must be 1 to 200 characters"));
            }
            let made = if *public {
                None
            } else {
                Some(rules::new_secret().map_err(|e| ClientError::Random(e.to_string()))?)
            };
            let row = oidc_clients::Model {
                client_id: client_id.clone(),
                name,
                secret_hash: made.as_ref().map(|(_, hash)| hash.clone()),
                redirect_uris: redirect_uris.join(" "),
                post_logout_redirect_uris: post_logout_redirect_uris.join(" "),
                scopes: scopes.split_whitespace().collect::<Vec<_>>().join(" "),
                roles: roles.join(" "),
                first_party: *first_party,
                created: app.now(),
            };
            if !store::oidc::add_client(&app.db, row.clone()).await? {
                return Err(ClientError::Exists(client_id.clone()));
            }
            print(
                &Client::from(row),
                made.as_ref().map(|(s, _)| s.as_str()),
                *json,
            );
        }
        ClientCommand::List { json } => {
            let all: Vec<Client> = store::oidc::clients(&app.db)
                .await?
                .into_iter()
                .map(Client::from)
                .collect();
            if *json {
                let list: Vec<_> = all.iter().map(view).collect();
                println!("{}", serde_json::Value::from(list));
            } else {
                for c in &all {
                    let kind = if c.is_public() {
                        "public"
                    } else {
                        "confidential"
                    };
                    println!(
                        "{}\t{kind}\t{}\t{}",
                        c.id,
                        c.name,
                        c.redirect_uris.join(" ")
                    );
                }
            }
        }
        ClientCommand::Show { client_id, json } => {
            let row = store::oidc::client(&app.db, client_id).await?;
            let c = row
                .map(Client::from)
                .ok_or_else(|| ClientError::NotFound(client_id.clone()))?;
            print(&c, None, *json);
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let row = store::oidc::client(&app.db, client_id).await?;
            let c = row
                .map(Client::from)
                .ok_or_else(|| ClientError::NotFound(client_id.clone()))?;
            if c.is_public() {
                return Err(ClientError::Public(client_id.clone()));
            }
            let (secret, hash) =
                rules::new_secret().map_err(|e| ClientError::Random(e.to_string()))?;
            if !store::oidc::set_secret(&app.db, client_id, hash).await? {
                return Err(ClientError::NotFound(client_id.clone()));
            }
            print(&c, Some(&secret), *json);
        }
        ClientCommand::Delete { client_id } => {
            if !store::oidc::delete_client(&app.db, client_id).await? {
                return Err(ClientError::NotFound(client_id.clone()));
            }
            println!("deleted client {client_id}");
        }
    }
    Ok(())
}
