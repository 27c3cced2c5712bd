//! `authnzd user add`: an account the operator makes. It is checked as
//! `user-new` checks a sign-up (address, full name, password policy) and
//! hashed the same way, but can log in at once: verified, active, and in
//! the role given.

use authnzd_proto::Role;
use serde_json::json;

use super::super::{ActionResult, Outcome, Refusal};
use super::answer::user_info;
use super::{Signup, check_signup};
use crate::app::App;
use crate::store;

pub async fn add(
    app: &App,
    address: &str,
    full_name: &str,
    password: &str,
    role: Role,
) -> ActionResult {
    if matches!(role, Role::Anonymous | Role::Locked) {
        return Ok(Outcome::fail(
            Refusal::Invalid(format!("invalid request: cannot add a user of role {role}")),
            "An account is made superuser, staff or authenticated.",
            json!({"user_info": null}),
        ));
    }
    let Signup {
        address,
        full_name,
        password,
    } = match check_signup(app, address, full_name, password).await {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let hash = app.hasher.hash(password).await?;
    let inserted = store::users::insert_unless_taken(
        &app.db,
        store::users::NewUser {
            system_id: uuid::Uuid::new_v4().to_string(),
            full_name,
            password_hash: hash,
            email: address,
            email_verified: true,
            is_active: true,
            user_role: role.as_str().into(),
            extra_info: json!({"provenance": "operator-created", "type": "normal-user"}),
            now: app.now(),
        },
    )
    .await?;
    Ok(match inserted {
        Some(u) => Outcome::ok(json!({"user_info": user_info(&u)}), "User account created."),
        None => Outcome::fail(
            Refusal::UserExists,
            "That email address is already in use.",
            json!({"user_info": null}),
        ),
    })
}
