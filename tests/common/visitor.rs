//! A browser by hand for the portal's HTTP tests: a cookie jar kept as the
//! server sets it, forms posted with `Sec-Fetch-Site`, redirects not
//! followed; and a server with the portal on.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use super::{PW, TestServer, free_port};

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

    /// Asserts the answer is a redirect (the portal's are all 303) to a
    /// URL ending in `end`.
    #[track_caller]
    pub fn assert_to(&self, end: &str) {
        assert_eq!(self.status, 303, "{}", self.body);
        let to = self.location();
        assert!(to.ends_with(end), "{} to {to:?}, not …{end}", self.status);
    }

    /// Asserts the answer sends the browser to a URL holding `part`.
    #[track_caller]
    pub fn assert_to_within(&self, part: &str) {
        let to = self.location();
        assert!(
            to.contains(part),
            "{} to {to:?}, not to …{part}…",
            self.status
        );
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

    /// A request to `path` with this visitor's cookies; a POST also says it
    /// comes from this site, as a browser's form or script does.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base, path.trim_start_matches('/'));
        let post = method == reqwest::Method::POST;
        let req = self
            .http
            .request(method, url)
            .header("cookie", self.cookie_header());
        if post {
            req.header("sec-fetch-site", self.site)
        } else {
            req
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        self.keep(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.request(reqwest::Method::POST, path).form(form);
        let res = req.send().await.unwrap();
        self.keep(res).await
    }

    /// A form posted with its `csrf` token and `fields`.
    pub async fn submit(&mut self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Page {
        let mut form = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        self.post(path, &form).await
    }

    /// A script's request: `body` as JSON.
    pub async fn post_json(&mut self, path: &str, body: &serde_json::Value) -> Page {
        let req = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body.to_string());
        let res = req.send().await.unwrap();
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

/// A user with a verified address (`email`, `PW`) and a browser signed in
/// as them; the user's id.
pub async fn signed_in(s: &TestServer, email: &str) -> (Visitor, i64) {
    let user_id = s.verified_user(email, PW).await;
    let mut v = Visitor::new(s);
    let done = v.sign_in(email, PW, "").await;
    assert_eq!(done.status, 303, "{}", done.body);
    (v, user_id)
}

pub async fn portal_server() -> TestServer {
    TestServer::start_with(portal_on(free_port())).await
}

/// The portal on, served at `port` on loopback.
pub fn portal_on(port: u16) -> impl FnOnce(&mut authnzd::config::Config) + Send + 'static {
    move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
    }
}
