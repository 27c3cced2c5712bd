//! A browser by hand for the portal's HTTP tests: a cookie jar kept as the
//! server sets it, forms posted with `Sec-Fetch-Site`, redirects not
//! followed; and a server with the portal on.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use super::{TestServer, free_port};

/// A browser's cookie jar and forms, by hand: each cookie kept as set.
/// A clone is the same browser in another tab.
#[derive(Clone)]
pub struct Visitor {
    pub http: reqwest::Client,
    pub base: String,
    pub jar: BTreeMap<String, String>,
    /// `Sec-Fetch-Site` sent with POSTs (a browser sends one).
    pub site: &'static str,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Visitor {
    pub fn new(s: &TestServer) -> Visitor {
        authnzd::tls::install_provider();
        Visitor {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.url(),
            jar: BTreeMap::new(),
            site: "same-origin",
        }
    }

    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn keep(&mut self, res: reqwest::Response) -> Page {
        let headers = res.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let c = cookie::Cookie::parse(set.to_str().unwrap().to_owned()).unwrap();
            if c.max_age().is_some_and(|a| a.is_zero()) || c.value().is_empty() {
                self.jar.remove(c.name());
            } else {
                self.jar.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        Page {
            status: res.status().as_u16(),
            headers,
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{}", self.base, path.trim_start_matches('/'));
        let res = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = format!("{}{}", self.base, path.trim_start_matches('/'));
        let res = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("sec-fetch-site", self.site)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(res).await
    }

    /// `code` posted to `path` with the form token of `page`.
    pub async fn post_code(&mut self, path: &str, page: &Page, code: &str) -> Page {
        self.post(path, &[("csrf", &page.csrf()), ("code", code)])
            .await
    }

    /// The login form, then a password sign-in with `rd`.
    pub async fn sign_in(&mut self, email: &str, password: &str, rd: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.csrf();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("rd", rd),
            ],
        )
        .await
    }

    /// What forward-auth says of this visitor's cookies.
    pub async fn verify(&self) -> reqwest::Response {
        self.http
            .get(format!("{}auth/verify", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap()
    }
}

pub async fn portal_server() -> TestServer {
    let port = free_port();
    TestServer::start_with(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
    })
    .await
}
