//! Whole answers of the account, password and email requests, as the wire
//! has them: every field, its nullness and type, the messages and the
//! `failure_reason`, so an answer built from typed values stays what
//! authnzerver's clients read. Datetimes and generated ids are masked.

mod common;

use authnzd_client::Reply;
use authnzd_proto::Refusal;
use common::{PW, PW2, TestServer};
use serde_json::{Value, json};

/// Values that differ on every run: compared as set or null.
const VOLATILE: &[&str] = &[
    "system_id",
    "created_on",
    "last_updated",
    "last_login_try",
    "last_login_success",
    "emailverify_sent_datetime",
    "emailforgotpass_sent_datetime",
    "emailchangepass_sent_datetime",
];

fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if VOLATILE.contains(&k.as_str()) && !x.is_null() {
                    assert!(x.is_string(), "{k} is {x}");
                    *x = json!("<set>");
                } else {
                    mask(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// The reply as the frontend reads it, volatile values masked.
fn shape(r: &Reply) -> Value {
    let mut response = r.response.clone();
    mask(&mut response);
    json!({
        "success": r.success,
        "response": response,
        "messages": r.messages,
        "failure_reason": r.failure_reason,
    })
}

fn ok(response: Value, messages: &[&str]) -> Value {
    json!({"success": true, "response": response, "messages": messages, "failure_reason": null})
}

fn refused(reason: Refusal, response: Value, messages: &[&str]) -> Value {
    json!({"success": false, "response": response, "messages": messages,
           "failure_reason": reason.as_str()})
}

async fn answers(s: &TestServer, request: &str, body: Value, expected: Value) -> Reply {
    let r = s.call(request, body).await;
    assert_eq!(shape(&r), expected, "{request}");
    r
}

/// Ada's `user_info` after sign-up and verification, with `changes`.
fn ada(user_id: i64, changes: Value) -> Value {
    let mut info = json!({
        "user_id": user_id, "system_id": "<set>", "full_name": "Ada Lovelace",
        "email": "ada@example.com", "email_verified": true, "is_active": true,
        "last_login_try": null, "last_login_success": null, "failed_login_tries": 0,
        "created_on": "<set>", "last_updated": "<set>", "user_role": "authenticated",
        "extra_info": {"provenance": "request-created", "type": "normal-user",
                       "verify_retry_wait": 6},
        "emailverify_sent_datetime": "<set>", "emailforgotpass_sent_datetime": null,
        "emailchangepass_sent_datetime": null, "phone": null,
    });
    for (k, v) in changes.as_object().unwrap() {
        info[k] = v.clone();
    }
    info
}

const CREATED: &str = "User account created. Please verify your email address to log in.";
const LOOKED_UP: &str = "User look up successful.";

/// Signs Ada up and verifies her address: her id.
async fn ada_signed_up(s: &TestServer) -> i64 {
    let signup = json!({"full_name": "Ada Lovelace", "email": "Ada@Example.com", "password": PW});
    let r = s.call("user-new", signup).await;
    let id = r.response["user_id"].as_i64().unwrap();
    assert_eq!(
        shape(&r),
        ok(
            json!({"user_email": "ada@example.com", "user_id": id, "system_id": "<set>",
                   "send_verification": true}),
            &[CREATED]
        )
    );
    let verified = json!({"user_id": id, "is_active": true, "user_role": "authenticated"});
    let body = json!({"email": "ada@example.com"});
    let said = ["Email verification toggle request succeeded."];
    answers(s, "user-set-emailverified", body, ok(verified, &said)).await;
    id
}

#[tokio::test]
async fn sign_up_and_verification_answers() {
    let s = TestServer::start().await;
    let none = json!({"user_email": null, "user_id": null, "send_verification": false});
    let bad = json!({"full_name": "Ada", "email": "not an address", "password": PW});
    let said = [
        "The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server.",
    ];
    let expected = refused(Refusal::InvalidEmail, none.clone(), &said);
    answers(&s, "user-new", bad, expected).await;
    let linked =
        json!({"full_name": "see http://x.example", "email": "b@example.com", "password": PW});
    let said = [
        "The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server.",
    ];
    answers(
        &s,
        "user-new",
        linked,
        refused(Refusal::InvalidFullName, none, &said),
    )
    .await;
    let weak = json!({"full_name": "Bea", "email": "Bea@example.com", "password": "bea"});
    let r = s.call("user-new", weak).await;
    assert!(!r.messages.is_empty() && r.messages.iter().all(|m| !m.is_empty()));
    let mut expected = refused(
        Refusal::InvalidPassword,
        json!({"user_email": "bea@example.com", "user_id": null, "send_verification": false}),
        &[],
    );
    expected["messages"] = json!(r.messages);
    assert_eq!(shape(&r), expected);

    let unknown = json!({"email": "nobody@example.com"});
    let expected = refused(
        Refusal::EmailNotRegistered,
        json!({"user_id": null, "is_active": false, "user_role": "locked"}),
        &["Email verification toggle request failed."],
    );
    answers(&s, "user-set-emailverified", unknown, expected).await;
    let id = ada_signed_up(&s).await;
    let again = json!({"full_name": "Ada Lovelace", "email": "ada@example.com", "password": PW});
    let expected = refused(
        Refusal::UserExists,
        json!({"user_email": "ada@example.com", "user_id": id, "system_id": "<set>",
               "send_verification": false}),
        &[CREATED],
    );
    answers(&s, "user-new", again, expected).await;

    let sent = json!({"email": "ada@example.com", "email_type": "signup"});
    let expected = ok(
        json!({"email": "ada@example.com", "emailverify_sent_datetime": "<set>",
               "emailforgotpass_sent_datetime": null, "user_id": id, "is_active": true,
               "user_role": "authenticated"}),
        &["Email sent notification request succeeded."],
    );
    answers(&s, "user-set-emailsent", sent, expected).await;
    let odd = json!({"email": "ada@example.com", "email_type": "birthday"});
    let expected = refused(
        Refusal::invalid("invalid email_type requested"),
        json!({}),
        &["Invalid email sent notification request."],
    );
    answers(&s, "user-set-emailsent", odd, expected).await;
    let nobody = json!({"email": "nobody@example.com", "email_type": "forgotpass"});
    let expected = refused(
        Refusal::EmailSentNotUpdated,
        json!({}),
        &["Email sent notification request failed."],
    );
    answers(&s, "user-set-emailsent", nobody, expected).await;

    let fine = json!({"password": PW, "email": "c@example.com", "full_name": "C"});
    let expected = ok(json!({}), &["The password is OK to use."]);
    answers(&s, "user-validatepass", fine, expected).await;
    let weak = json!({"password": "c", "email": "c@example.com", "full_name": "C"});
    let r = s.call("user-validatepass", weak).await;
    let mut expected = refused(Refusal::InvalidPassword, json!({}), &[]);
    expected["messages"] = json!(r.messages);
    assert!(!r.messages.is_empty());
    assert_eq!(shape(&r), expected);
    let huge = json!({"password": PW, "email": "c@example.com", "full_name": "C",
                      "min_pass_length": -1});
    let said = ["password policy counts must be between 0 and 4294967295"];
    let expected = refused(Refusal::InvalidParameters, json!({}), &said);
    answers(&s, "user-validatepass", huge, expected).await;
}

#[tokio::test]
async fn lookup_edit_and_lock_answers() {
    let s = TestServer::start().await;
    let id = ada_signed_up(&s).await;
    let info = ada(id, json!({}));

    let one = json!({"user_id": id});
    let expected = ok(json!({"user_info": [info]}), &[LOOKED_UP]);
    answers(&s, "user-list", one, expected).await;
    let missing = json!({"user_id": 999});
    let expected = refused(
        Refusal::TargetUserNotFound,
        json!({"user_info": null}),
        &["User look up failed."],
    );
    answers(&s, "user-list", missing, expected).await;
    let by_email = json!({"email": "ADA@example.com"});
    let expected = ok(json!({"user_info": info}), &[LOOKED_UP]);
    answers(&s, "user-lookup-email", by_email, expected).await;
    let nobody = json!({"email": "nobody@example.com"});
    let expected = refused(
        Refusal::EmailNotFound,
        json!({"user_info": null}),
        &["User look up failed."],
    );
    answers(&s, "user-lookup-email", nobody, expected).await;
    let matching = json!({"by": "extra_info", "match": {"type": "normal-user"}});
    let expected = ok(json!({"user_info": [info]}), &[LOOKED_UP]);
    answers(&s, "user-lookup-match", matching, expected).await;
    let odd = json!({"by": "password", "match": "x"});
    let expected = refused(
        Refusal::invalid("'by' names no matchable column, or 'match' has the wrong type for it"),
        json!({"user_info": null}),
        &["Invalid match condition provided."],
    );
    answers(&s, "user-lookup-match", odd, expected).await;

    let (_, session) = s.login("ada@example.com", PW).await.unwrap();
    let logged_in = json!({"last_login_try": "<set>", "last_login_success": "<set>"});
    let edit = |update: Value| {
        json!({"user_id": id, "user_role": "authenticated", "session_token": session,
               "target_userid": id, "update_dict": update})
    };
    let edits = async |update: Value, expected: Value| {
        answers(&s, "user-edit", edit(update), expected).await
    };
    let mut renamed = ada(id, logged_in.clone());
    renamed["full_name"] = json!("Ada King");
    let expected = ok(json!({"user_info": renamed}), &["User update successful."]);
    edits(json!({"full_name": "Ada King"}), expected).await;
    let mut moved = renamed.clone();
    moved["email"] = json!("ada@king.example.org");
    moved["email_verified"] = json!(false);
    let expected = ok(
        json!({"user_info": moved, "send_verification": true}),
        &[
            "User update successful.",
            "Please verify the new email address before it is used to sign in.",
        ],
    );
    edits(json!({"email": "ada@king.example.org"}), expected).await;
    let expected = refused(
        Refusal::Invalid("not allowed to edit 'user_role'".into()),
        json!({"user_info": null}),
        &["extra elements in update_dict not allowed"],
    );
    edits(json!({"user_role": "staff"}), expected).await;

    let su = s.session_for(Some(1), 1).await;
    let lock = |action: &str, target: i64| {
        json!({"user_id": 1, "user_role": "superuser", "session_token": su,
               "target_userid": target, "action": action})
    };
    let mut locked = moved.clone();
    locked["user_role"] = json!("locked");
    locked["is_active"] = json!(false);
    locked["extra_info"]["previous_user_roles"] = json!(["authenticated"]);
    let said = ["User lock toggle successful."];
    answers(
        &s,
        "user-lock",
        lock("lock", id),
        ok(json!({"user_info": locked}), &said),
    )
    .await;
    let mut unlocked = locked.clone();
    unlocked["user_role"] = json!("authenticated");
    unlocked["is_active"] = json!(true);
    unlocked["extra_info"]["previous_user_roles"] = json!([]);
    let expected = ok(json!({"user_info": unlocked}), &said);
    answers(&s, "user-lock", lock("unlock", id), expected).await;
    let expected = refused(
        Refusal::CannotLockSelf,
        json!({"user_info": null}),
        &["You can't lock/unlock your own user account."],
    );
    answers(&s, "user-lock", lock("lock", 1), expected).await;
    let expected = refused(
        Refusal::InvalidLockAction,
        json!({"user_info": null}),
        &["Unknown action requested for toggle_user_lock."],
    );
    answers(&s, "user-lock", lock("freeze", id), expected).await;
}

#[tokio::test]
async fn password_and_delete_answers() {
    let s = TestServer::start().await;
    let id = ada_signed_up(&s).await;
    let bob = s.verified_user("bob@example.org", PW).await;
    let (_, session) = s.login("ada@example.com", PW).await.unwrap();
    let (_, bob_session) = s.login("bob@example.org", PW).await.unwrap();
    let change = |token: &str, current: &str, new: &str| {
        json!({"user_id": id, "session_token": token, "full_name": "Ada Lovelace",
               "email": "ADA@example.com", "current_password": current, "new_password": new})
    };
    let ada_ref = json!({"user_id": id, "email": "ada@example.com"});
    let expected = refused(
        Refusal::SessionNotOwned,
        json!({"user_id": id, "email": "ADA@example.com"}),
        &["Your current password did not match the stored password."],
    );
    answers(
        &s,
        "user-changepass",
        change(&bob_session, PW, PW2),
        expected,
    )
    .await;
    let expected = refused(
        Refusal::PasswordMismatch,
        ada_ref.clone(),
        &["Your current password did not match the stored password."],
    );
    answers(&s, "user-changepass", change(&session, PW2, PW2), expected).await;
    let expected = refused(
        Refusal::PasswordUnchanged,
        ada_ref.clone(),
        &["Your new password cannot be the same as your old password."],
    );
    answers(&s, "user-changepass", change(&session, PW, PW), expected).await;
    let r = s.call("user-changepass", change(&session, PW, "ada")).await;
    let mut expected = refused(Refusal::PasswordInsecure, ada_ref.clone(), &[]);
    expected["messages"] = json!(r.messages);
    assert!(!r.messages.is_empty());
    assert_eq!(shape(&r), expected);
    let changed = [
        "Password changed successfully.",
        "For security purposes, you have been logged out of all other sessions.",
    ];
    let expected = ok(ada_ref.clone(), &changed);
    answers(&s, "user-changepass", change(&session, PW, PW2), expected).await;

    let nosession = json!({"user_id": bob, "full_name": "Bob", "email": "bob@example.org",
                           "current_password": PW, "new_password": PW2});
    let bob_ref = json!({"user_id": bob, "email": "bob@example.org"});
    let expected = ok(bob_ref, &changed);
    answers(&s, "user-changepass-nosession", nosession, expected).await;

    let reset = |address: &str| json!({"email_address": address, "new_password": PW, "required_active": true});
    let expected = ok(ada_ref.clone(), &changed);
    answers(
        &s,
        "user-resetpass-nosession",
        reset("ada@example.com"),
        expected,
    )
    .await;
    let expected = refused(
        Refusal::ResetTargetInvalid,
        json!({}),
        &["Invalid user for password reset request."],
    );
    answers(
        &s,
        "user-resetpass-nosession",
        reset("nobody@example.com"),
        expected,
    )
    .await;
    let no_session = json!({"email_address": "ada@example.com", "new_password": PW2,
                            "session_token": "not-a-session"});
    let expected = refused(
        Refusal::SessionNotFound,
        json!({}),
        &["Invalid session token for password reset request."],
    );
    answers(&s, "user-resetpass", no_session, expected).await;

    let delete =
        |password: &str| json!({"email": "Ada@Example.com", "user_id": id, "password": password});
    let asked = json!({"user_id": id, "email": "Ada@Example.com"});
    let not_verified = ["We could not verify your email address or password."];
    let expected = refused(
        Refusal::InvalidEmailOrPassword,
        asked.clone(),
        &not_verified,
    );
    answers(&s, "user-delete", delete(PW2), expected).await;
    let expected = ok(asked, &["User successfully deleted from DB."]);
    answers(&s, "user-delete", delete(PW), expected).await;
    let root = json!({"email": "Root@example.com", "user_id": 1, "password": PW});
    let asked = json!({"user_id": 1, "email": "Root@example.com"});
    let expected = refused(Refusal::InvalidEmailOrPassword, asked, &not_verified);
    answers(&s, "user-delete", root, expected).await;
}

#[tokio::test]
async fn email_answers() {
    let (s, sink) = TestServer::with_mail().await;
    let id = {
        let signup =
            json!({"full_name": "Ada Lovelace", "email": "ada@example.com", "password": PW});
        s.ok("user-new", signup).await["user_id"].as_i64().unwrap()
    };
    let session = s.anon_session().await;
    let signup = |created: Value, url: Option<&str>, expiry: i64| {
        let mut body = json!({
            "email_address": "ada@example.com", "session_token": session,
            "created_info": created, "server_name": "Example",
            "server_baseurl": "https://example.com", "verification_token": "t0k3n",
            "verification_expiry": expiry,
        });
        if let Some(url) = url {
            body["server_verify_url"] = json!(url);
        }
        body
    };
    let created = json!({"user_id": id, "send_verification": true});
    let nulls = json!({"user_id": null, "email_address": null, "emailverify_sent_datetime": null});
    let expected = refused(
        Refusal::invalid("missing 'account_verify_url' or 'server_verify_url' in request"),
        nulls.clone(),
        &["Invalid verify email request."],
    );
    answers(
        &s,
        "user-sendemail-signup",
        signup(created.clone(), None, 900),
        expected,
    )
    .await;
    let expected = refused(
        Refusal::invalid("verification_expiry must be between 1 s and 30 days"),
        json!({}),
        &["Invalid email request."],
    );
    let body = signup(created.clone(), Some("/verify"), 0);
    answers(&s, "user-sendemail-signup", body, expected).await;
    let expected = refused(
        Refusal::VerificationUserMissing,
        nulls,
        &["Invalid verify email request."],
    );
    let body = signup(json!({"user_id": id + 1}), Some("/verify"), 900);
    answers(&s, "user-sendemail-signup", body, expected).await;
    let expected = ok(
        json!({"user_id": id, "email_address": "ada@example.com",
               "emailverify_sent_datetime": "<set>"}),
        &["Verify email sent successfully."],
    );
    answers(
        &s,
        "user-sendemail-signup",
        signup(created, Some("/verify"), 900),
        expected,
    )
    .await;
    sink.wait_for(1).await;

    let forgot = json!({
        "email_address": "ada@example.com", "session_token": session, "server_name": "Example",
        "server_baseurl": "https://example.com", "password_forgot_url": "/reset",
        "verification_token": "t0k3n", "verification_expiry": 900,
    });
    let expected = refused(
        Refusal::ForgotpassInvalidUser,
        json!({"user_id": null, "email_address": null, "emailforgotpass_sent_datetime": null}),
        &["Invalid password reset email request."],
    );
    answers(&s, "user-sendemail-forgotpass", forgot.clone(), expected).await;
    s.ok(
        "user-set-emailverified",
        json!({"email": "ada@example.com"}),
    )
    .await;
    let expected = ok(
        json!({"user_id": id, "email_address": "ada@example.com",
               "emailforgotpass_sent_datetime": "<set>"}),
        &["Password reset request sent successfully."],
    );
    answers(&s, "user-sendemail-forgotpass", forgot, expected).await;
    sink.wait_for(2).await;
}
