//! The browser kit (`common::browser`) against a page served here: a real
//! headless Chromium fills a form, follows the post, keeps the cookie in its
//! own profile only, and takes a screenshot.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use common::browser::Browser;
use warp::Filter;
use warp::http::header::{CONTENT_TYPE, SET_COOKIE};

const FORM: &str = "<!doctype html><title>Form</title>\
    <form method=post action=/echo>\
    <label>Name <input name=name autocomplete=username></label>\
    <button>Send</button></form>";

/// A local site: `GET /` the form, `POST /echo` the name back in
/// `#answer`, with cookie `echoed` set to it.
async fn site() -> SocketAddr {
    let form = warp::path::end()
        .and(warp::get())
        .map(|| warp::reply::html(FORM));
    let echo = warp::path("echo")
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::body::form())
        .map(|fields: HashMap<String, String>| {
            let name = fields.get("name").cloned().unwrap_or_default();
            let escaped = name
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let cookie = format!(
                "echoed={}; Path=/; HttpOnly; SameSite=Lax",
                form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
            );
            warp::http::Response::builder()
                .header(CONTENT_TYPE, "text/html; charset=utf-8")
                .header(SET_COOKIE, cookie)
                .body(format!(
                    "<!doctype html><title>Echo</title><p id=answer>Hello, {escaped}</p>"
                ))
                .unwrap()
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(form.or(echo)).incoming(listener).run());
    addr
}

#[tokio::test]
async fn a_browser_fills_posts_keeps_its_cookie_and_takes_a_screenshot() {
    let base = format!("http://{}", site().await);
    let b = Browser::start().await;

    b.goto(&format!("{base}/")).await;
    assert_eq!(b.current_url().await, format!("{base}/"));
    assert!(b.exists("input[name=name]").await);
    assert!(!b.exists("#answer").await);
    b.fill("input[name=name]", "placeholder").await;
    // `fill` clears first.
    b.fill("input[name=name]", "Ada <Lovelace>").await;
    assert_eq!(
        b.eval("return document.querySelector('input[name=name]').value")
            .await,
        "Ada <Lovelace>"
    );
    b.click("button").await;

    let url = b.wait_for_url(format!("{base}/echo").as_str()).await;
    assert_eq!(url, format!("{base}/echo"));
    b.wait_for("#answer").await;
    assert_eq!(b.text("#answer").await, "Hello, Ada <Lovelace>");
    assert!(b.html().await.contains("Hello, Ada &lt;Lovelace&gt;"));

    let cookie = b.cookie("echoed").await.expect("cookie echoed set");
    assert_eq!(cookie.value, "Ada+%3CLovelace%3E");
    assert!(cookie.http_only);
    assert_eq!(cookie.path.as_deref(), Some("/"));
    assert_eq!(cookie.same_site.as_deref(), Some("Lax"));
    assert_eq!(cookie.expires, None, "a session cookie");
    assert_eq!(b.cookies().await.len(), 1);

    // Another Browser is another profile: no cookie there.
    let other = Browser::start().await;
    other.goto(&format!("{base}/")).await;
    assert!(other.cookies().await.is_empty());
    other.close().await;
    // And the first still has it.
    b.goto(&format!("{base}/")).await;
    assert!(b.cookie("echoed").await.is_some());

    // `submit` posts the form as its button would; a predicate waits.
    b.fill("input[name=name]", "Grace").await;
    b.submit("form").await;
    b.wait_for_url(|u: &str| u.ends_with("/echo")).await;
    b.wait_for("#answer").await;
    assert_eq!(b.text("#answer").await, "Hello, Grace");

    let shot = b.screenshot("browser_kit").await;
    assert!(shot.ends_with("screenshots/browser_kit.png"), "{shot:?}");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {shot:?}");
    b.close().await;
}
