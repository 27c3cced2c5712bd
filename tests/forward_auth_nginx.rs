//! Forward-auth behind a real nginx (`auth_request`) in front of a small
//! upstream: the configuration README shows, started on loopback by the
//! test. Needs the `nginx` binary, which `cargo xtask test` provides.

mod common;

use std::time::{Duration, Instant};

use common::nginx::{Nginx, upstream};
use common::{PW, TestServer, free_port};
use serde_json::json;

/// The README's snippet with this test's ports: `plain` answers 401,
/// `redirecting` turns our 401 + Location into a 302.
fn config(plain: u16, redirecting: u16, auth: u16, upstream: u16) -> String {
    let location = |redirect: bool| {
        format!(
            r#"
        location = /_authnzd {{
            internal;
            proxy_pass http://127.0.0.1:{auth}/auth/verify?url=$authnzd_url;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL https://$http_host$request_uri;
            proxy_set_header X-Real-IP $remote_addr;
        }}
        location / {{
            # A subrequest has no query of its own; the variable carries it.
            set $authnzd_url $arg_url;
            auth_request /_authnzd;
            auth_request_set $auth_user $upstream_http_x_auth_user_id;
            auth_request_set $auth_redirect $upstream_http_location;
            {}
            proxy_set_header X-Auth-User-Id $auth_user;
            proxy_pass http://127.0.0.1:{upstream};
        }}"#,
            if redirect {
                "error_page 401 =302 $auth_redirect;"
            } else {
                ""
            }
        )
    };
    format!(
        r#"
    server {{
        listen 127.0.0.1:{plain};
        {}
    }}
    server {{
        listen 127.0.0.1:{redirecting};
        {}
    }}
"#,
        location(false),
        location(true)
    )
}

async fn start_nginx(auth: u16) -> (Nginx, u16, u16) {
    let up = upstream().await;
    let (plain, redirecting) = (free_port(), free_port());
    let nginx = Nginx::start(&config(plain, redirecting, auth, up), redirecting).await;
    (nginx, plain, redirecting)
}

async fn get(
    port: u16,
    path: &str,
    host: &str,
    cookie: Option<&str>,
) -> (u16, Option<String>, String) {
    authnzd::tls::install_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", host);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.expect("GET through nginx");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn nginx_auth_request_passes_signed_in_users_and_refuses_everyone_else() {
    let s =
        TestServer::with_forward_auth(|c| c.gateway.gateway_listen = "127.0.0.1:0".into()).await;
    let auth = s.running().gateway_addr.expect("gateway").port();
    let (_nginx, plain, redirecting) = start_nginx(auth).await;
    let host = "app.example.com";

    // Nobody: 401 from the plain server, a redirect to the login page
    // carrying the original URL from the redirecting one.
    assert_eq!(get(plain, "/private", host, None).await.0, 401);
    let (status, location, _) = get(redirecting, "/private?a=1", host, None).await;
    assert_eq!(status, 302);
    let location = url::Url::parse(&location.expect("Location")).unwrap();
    assert_eq!(location.host_str(), Some("login.example.com"));
    let carried: Vec<_> = location
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        carried,
        vec![(
            "url".to_owned(),
            "https://app.example.com/private?a=1".to_owned()
        )]
    );

    // A signed-in user's cookie reaches the upstream with the user's id.
    let id = s.verified_user("nginx@example.com", PW).await;
    let session = s.session_for(Some(id), 48).await;
    let cookie = format!("authnzd_session={session}");
    for port in [plain, redirecting] {
        let (status, _, body) = get(port, "/private", host, Some(&cookie)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, format!("upstream saw user={id}"));
    }

    // Open redirects: refused (403), never a Location to another host.
    for (path, host) in [
        ("/?url=https://evil.example/", host),
        ("/?url=//evil.example", host),
        ("/", "evil.example"),
    ] {
        let (status, location, _) = get(redirecting, path, host, None).await;
        assert_eq!(status, 403, "{host}{path} → {location:?}");
        assert!(location.is_none());
    }

    // Logged out: the same cookie is refused within 1 s (here at once: the
    // server's cache holds a revocation mark).
    s.ok("session-delete", json!({"session_token": session}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(1);
    let refused_at = loop {
        let (status, _, _) = get(plain, "/private", host, Some(&cookie)).await;
        if status == 401 {
            break Instant::now();
        }
        assert_eq!(status, 200);
        assert!(
            Instant::now() < deadline,
            "the cookie still passed after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refused_at <= deadline);
}
