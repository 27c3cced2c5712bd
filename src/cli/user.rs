//! `authnzd user …`: accounts on the configured database, through the
//! actions the RPC requests use (`user-list`, `internal-user-lock`,
//! `internal-user-edit`, `user-resetpass-nosession`, `internal-user-delete`,
//! and `user-new`'s checks for `add`), so validation, the password policy,
//! hashing and session revocation are theirs. A running server sees a
//! change within a second (the invalidation log it reads; at once on
//! PostgreSQL, and logins read the database and see it at once).

use std::io::{BufRead, IsTerminal, Write};

use authnzd::actions::{self, Ctx, Done, Fault, Refused, internal, password, user};
use authnzd::config::Config;
use authnzd::event::{By, Event};
use authnzd::security::email;
use authnzd::{StartReport, store};
use authnzd_proto::answers::UserInfo;
use authnzd_proto::{self as proto, Role};
use clap::Subcommand;
use entity::users;
use serde_json::{Map, Value};

use super::CliError;

mod show;
use show::{print_list, print_user};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an account that can log in at once (verified, active).
    #[command(
        long_about = "Adds an account checked as `user-new` checks a sign-up (address, \
full name, password policy) that can log in at once: verified, active, in the role given. \
The password is read from a prompt (twice) on a terminal, else the first line of stdin; \
never from the command line.",
        after_help = "Examples:\n  authnzd user add ops@example.com --name 'Ops Team' --role staff\n  \
printf '%s\\n' \"$PASSWORD\" | authnzd user add bot@example.com --json"
    )]
    Add {
        /// The account's email address.
        email: String,
        /// Full name.
        #[arg(long, default_value = "")]
        name: String,
        /// superuser, staff or authenticated.
        #[arg(long, default_value = "authenticated", value_parser = parse_role)]
        role: Role,
        /// Print the account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List every account.
    #[command(after_help = "Example:\n  authnzd user list --json | jq '.[] | .email'")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one account (by id or email).
    #[command(after_help = "Example:\n  authnzd user show ops@example.com --json")]
    Show {
        /// A user id or an email address.
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Lock an account: role `locked`, inactive, logged out everywhere.
    #[command(after_help = "Example:\n  authnzd user lock 42")]
    Lock {
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Unlock an account: it comes back as `authenticated`, or with the
    /// role `--role` names.
    #[command(
        after_help = "Examples:\n  authnzd user unlock mallory@example.com\n  authnzd user unlock ops@example.com --role staff"
    )]
    Unlock {
        user: String,
        /// The role to give back (superuser, staff, authenticated).
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Give an account another role.
    #[command(
        name = "set-role",
        after_help = "Example:\n  authnzd user set-role ops@example.com superuser"
    )]
    SetRole {
        user: String,
        /// superuser, staff, authenticated, anonymous or locked.
        #[arg(value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        json: bool,
    },
    /// Set a new password (from a prompt or stdin); logs the user out.
    #[command(
        name = "reset-password",
        long_about = "Sets a new password, checked against the password policy, and logs \
the user out of every session. The password is read from a prompt (twice) on a terminal, \
else the first line of stdin; never from the command line.",
        after_help = "Examples:\n  authnzd user reset-password ops@example.com\n  \
printf '%s\\n' \"$NEW_PASSWORD\" | authnzd user reset-password 42"
    )]
    ResetPassword {
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete an account and its sessions (not the reserved ones).
    #[command(after_help = "Example:\n  authnzd user delete 42 --yes")]
    Delete {
        user: String,
        /// Do not ask (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no user {0}")]
    NotFound(String),
    #[error("{message} ({reason})")]
    Refused { reason: String, message: String },
    #[error("{0}")]
    Fault(#[from] Fault),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("password: {0}")]
    PasswordInput(std::io::Error),
    #[error("the two passwords differ")]
    PasswordMismatch,
    #[error("no password given on stdin")]
    NoPassword,
    #[error("not deleted: add --yes to delete without a terminal to ask on")]
    NotConfirmed,
    #[error(
        "the change is made, but running servers could not be told to drop their cached \
         copies ({0}); they may serve them until `session_cache_ttl` ends"
    )]
    Untold(#[from] authnzd::instances::Undelivered),
}

/// What start-up did that the operator should know (a new key file,
/// generated superuser credentials).
pub fn tell_report(report: &StartReport) {
    if let Some(path) = &report.created_key_file {
        eprintln!(
            "authnzd: created a new Fernet key in {} (mode 0600)",
            path.display()
        );
    }
    if let Some(summary) = &report.converted {
        eprintln!("authnzd: converted the authnzerver database in place: {summary}");
    }
    if let Some(path) = &report.superuser_credentials {
        eprintln!(
            "authnzd: generated superuser credentials written to {} (mode 0600)",
            path.display()
        );
    }
}

pub async fn run(config: Config, command: &UserCommand) -> Result<(), CliError> {
    let opened = authnzd::open(config, std::sync::Arc::new(authnzd::clock::SystemClock)).await?;
    tell_report(&opened.report);
    let app = opened.app;
    let ctx = Ctx {
        reqid: Value::from("authnzd-cli"),
        client_ipaddr: None,
    };
    let outgoing = authnzd::instances::Outgoing::collect(&app);
    let result = command_on(&app, &ctx, command).await;
    let told = outgoing.send(app.clone()).await;
    app.db.clone().close().await.ok();
    result?;
    told.map_err(UserError::from)?;
    Ok(())
}

async fn command_on(
    app: &std::sync::Arc<authnzd::app::App>,
    ctx: &Ctx,
    command: &UserCommand,
) -> Result<(), UserError> {
    let arc = || app.clone();
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            json,
        } => {
            let password = read_password()?;
            let info =
                succeeded(user::operator::add(app, email, name, &password, *role).await)?.user_info;
            audited(app, ctx, |by| Event::OperatorUserAdd { by }, &info).await?;
            print_user(&info, *json, "added");
        }
        UserCommand::List { json } => {
            let all = user::list(arc(), ctx.clone(), proto::UserList { user_id: None }).await;
            print_list(&succeeded(all)?.user_info, *json);
        }
        UserCommand::Show { user: who, json } => {
            let u = find(app, who).await?;
            let one = user::list(
                arc(),
                ctx.clone(),
                proto::UserList {
                    user_id: Some(u.user_id),
                },
            )
            .await;
            // `user-list` refuses an id it does not find, so one is there.
            let info = succeeded(one)?
                .user_info
                .into_iter()
                .next()
                .ok_or_else(|| UserError::NotFound(who.clone()))?;
            print_user(&info, *json, "");
        }
        UserCommand::Lock { user: who, json }
        | UserCommand::Unlock {
            user: who, json, ..
        } => {
            let (action, restore_role) = match command {
                UserCommand::Unlock { role, .. } => ("unlock", role.clone()),
                _ => ("lock", None),
            };
            let u = find(app, who).await?;
            let out = internal::user_lock(
                arc(),
                ctx.clone(),
                proto::InternalUserLock {
                    target_userid: u.user_id,
                    action: action.into(),
                    restore_role,
                },
            )
            .await;
            let info = succeeded(out)?.user_info;
            let event: fn(By) -> Event = if action == "lock" {
                |by| Event::OperatorUserLock { by }
            } else {
                |by| Event::OperatorUserUnlock { by }
            };
            audited(app, ctx, event, &info).await?;
            print_user(&info, *json, &format!("{action}ed"));
        }
        UserCommand::SetRole {
            user: who,
            role,
            json,
        } => {
            let u = find(app, who).await?;
            let mut update = Map::new();
            update.insert("user_role".into(), role.as_str().into());
            let out = internal::user_edit(
                arc(),
                ctx.clone(),
                proto::InternalUserEdit {
                    target_userid: u.user_id,
                    update_dict: update,
                },
            )
            .await;
            let info = succeeded(out)?.user_info;
            audited(app, ctx, |by| Event::OperatorUserSetRole { by }, &info).await?;
            print_user(&info, *json, &format!("now {role}"));
        }
        UserCommand::ResetPassword { user: who, json } => {
            let u = find(app, who).await?;
            let new_password = read_password()?;
            let reset = password::resetpass_nosession(
                arc(),
                ctx.clone(),
                proto::UserResetpassNosession {
                    email_address: u.email.clone(),
                    new_password: proto::Secret::new(new_password),
                    required_active: u.is_active,
                },
            )
            .await;
            succeeded(reset)?;
            let info = user::user_info(&u);
            audited(
                app,
                ctx,
                |by| Event::OperatorUserResetPassword { by },
                &info,
            )
            .await?;
            print_user(&info, *json, "has a new password; logged out everywhere");
        }
        UserCommand::Delete {
            user: who,
            yes,
            json,
        } => {
            let u = find(app, who).await?;
            if !yes && !confirm(&format!("Delete user {} ({})?", u.user_id, u.email))? {
                return Err(UserError::NotConfirmed);
            }
            let out = internal::user_delete(
                arc(),
                ctx.clone(),
                proto::InternalUserDelete {
                    target_userid: u.user_id,
                },
            )
            .await;
            succeeded(out)?;
            let info = user::user_info(&u);
            audited(app, ctx, |by| Event::OperatorUserDelete { by }, &info).await?;
            print_user(&info, *json, "deleted");
        }
    }
    Ok(())
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("one of {}", all.join(", "))
    })
}

/// The account named by an id or an email address.
async fn find(app: &authnzd::app::App, who: &str) -> Result<users::Model, UserError> {
    let found = match who.trim().parse::<i64>() {
        Ok(id) => store::users::by_id(&app.db, id).await?,
        Err(_) => store::users::by_email(&app.db, &email::normalise(who)).await?,
    };
    found.ok_or_else(|| UserError::NotFound(who.to_owned()))
}

/// The answer when it was given; its refusal as an error otherwise.
fn succeeded<A>(done: Done<A>) -> Result<A, UserError> {
    match done {
        Ok(said) => Ok(said.answer),
        Err(Refused::Fault(f)) => Err(f.into()),
        Err(Refused::No(no)) => {
            let message = no
                .messages
                .iter()
                .filter(|m| !m.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            Err(UserError::Refused {
                reason: no.reason.to_string(),
                message,
            })
        }
    }
}

async fn audited(
    app: &authnzd::app::App,
    ctx: &Ctx,
    event: fn(By) -> Event,
    info: &UserInfo,
) -> Result<(), UserError> {
    actions::audit(app, ctx, event(CLI), Some(info.user_id)).await?;
    Ok(())
}

/// Who the operator's commands are audited as.
const CLI: By = By::Named("authnzd-cli");

/// A new password from a prompt (asked twice) on a terminal, else the
/// first line of stdin.
fn read_password() -> Result<String, UserError> {
    if std::io::stdin().is_terminal() {
        let first =
            rpassword::prompt_password("New password: ").map_err(UserError::PasswordInput)?;
        let again = rpassword::prompt_password("Again: ").map_err(UserError::PasswordInput)?;
        if first != again {
            return Err(UserError::PasswordMismatch);
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(UserError::PasswordInput)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(UserError::NoPassword);
    }
    Ok(password.to_owned())
}

fn confirm(question: &str) -> Result<bool, UserError> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(UserError::PasswordInput)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
