//! `authnzd user add`: an account the operator makes. It is checked as
//! `user-new` checks a sign-up (address, full name, password policy) and
//! hashed the same way, but can log in at once: verified, active, and in
//! the role given.

use authnzd_proto::{Role, answers};
use serde_json::{Map, Value};

use super::super::{Done, Refusal, Said};
use super::answer::{user_info, without_info};
use super::{Signup, check_signup};
use crate::app::App;
use crate::store;

pub async fn add(
    app: &App,
    address: &str,
    full_name: &str,
    password: &str,
    role: Role,
) -> Done<answers::UserInfoField> {
    if matches!(role, Role::Anonymous | Role::Locked) {
        return Err(without_info(
            Refusal::Invalid(format!("invalid request: cannot add a user of role {role}")),
            "An account is made superuser, staff or authenticated.",
        )
        .into());
    }
    let Signup {
        address,
        full_name,
        password,
    } = check_signup(app, address, full_name, password).await?;
    let hash = app.credentials.hasher.hash(password).await?;
    let extra: Map<String, Value> = [("provenance", "operator-created"), ("type", "normal-user")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
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
            extra_info: Value::Object(extra),
            now: app.now(),
        },
    )
    .await?;
    match inserted {
        Some(u) => Ok(Said::new(
            answers::UserInfoField {
                user_info: user_info(&u),
            },
            "User account created.",
        )),
        None => {
            Err(without_info(Refusal::UserExists, "That email address is already in use.").into())
        }
    }
}
