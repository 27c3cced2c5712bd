//! How `authnzd user` shows accounts: a table, `key value` lines, or JSON.

use std::io::Write;

use authnzd_proto::answers::UserInfo;
use serde_json::Value;

/// `info` as a JSON object: its keys sorted, as the output has always
/// listed them.
fn as_object(info: &UserInfo) -> Value {
    serde_json::to_value(info).unwrap_or_default()
}

pub(super) fn print_user(info: &UserInfo, json: bool, done: &str) {
    let value = as_object(info);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return;
    }
    if !done.is_empty() {
        println!("user {} ({}): {done}", info.user_id, info.email);
        return;
    }
    if let Some(map) = value.as_object() {
        for (k, v) in map {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("{k:<30} {shown}");
        }
    }
}

pub(super) fn print_list(infos: &[UserInfo], json: bool) {
    if json {
        let all: Vec<Value> = infos.iter().map(as_object).collect();
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:>6}  {:<36} {:<14} {:<7} {:<9} name",
        "id", "email", "role", "active", "verified"
    );
    for u in infos {
        let line = format!(
            "{:>6}  {:<36} {:<14} {:<7} {:<9} {}",
            u.user_id,
            u.email,
            u.user_role,
            u.is_active,
            u.email_verified,
            u.full_name.as_deref().unwrap_or("-"),
        );
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}
