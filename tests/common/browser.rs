//! A real headless Chromium for tests, driven over WebDriver: each
//! `Browser` starts its own `chromedriver` on a free loopback port, which
//! starts Chromium with a fresh, empty profile (so two `Browser`s have two
//! cookie jars). Everything is killed on `close` or `Drop`.
//!
//! ```ignore
//! let b = Browser::start().await;
//! b.goto(&format!("{base}/login")).await;
//! b.fill("input[name=email]", "a@example.com").await;
//! b.click("button[type=submit]").await;
//! b.wait_for_url(format!("{base}/done").as_str()).await;
//! assert_eq!(b.text("#who").await, "a@example.com");
//! assert!(b.cookie("session").await.is_some_and(|c| c.http_only));
//! b.close().await;
//! ```
//!
//! Every method panics with what it was doing, the page's URL and the start
//! of its HTML when the browser does not do it: a test's failure is the
//! message. Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's
//! `chromium` and `chromium-driver`, which `cargo xtask test` installs).

use std::fmt::Display;
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Locator;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to listen.
const DRIVER_START: Duration = Duration::from_secs(30);
/// How long Chromium may take to start and open its session (a loaded
/// 2-core machine takes seconds).
const SESSION_START: Duration = Duration::from_secs(60);
/// How long one WebDriver command may take (a page load is one).
const COMMAND: Duration = Duration::from_secs(60);
/// How long `wait_for` / `wait_for_url` wait.
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// The flags Chromium runs with: headless, no sandbox (tests run as root), and
/// nothing that reaches for the network on its own (this machine's is
/// closed; updates, sync and QUIC probes would only wait and time out).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// One Chromium with its own profile, driven through its own chromedriver.
pub struct Browser {
    // Dropped first: the driver's `Drop` then ends what is left.
    client: Client,
    driver: Driver,
}

/// A cookie as the browser holds it for the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub domain: Option<String>,
    pub path: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    /// `"Strict"`, `"Lax"` or `"None"` as Chromium reports it.
    pub same_site: Option<String>,
    /// Unix seconds; `None` for a session cookie.
    pub expires: Option<i64>,
}

/// What `wait_for_url` waits for: a URL prefix (`&str`) or a predicate
/// (`|url: &str| …`).
pub trait UrlWanted {
    fn matches(&self, url: &str) -> bool;
    fn describe(&self) -> String;
}

impl UrlWanted for &str {
    fn matches(&self, url: &str) -> bool {
        url.starts_with(*self)
    }
    fn describe(&self) -> String {
        format!("a URL starting with {self:?}")
    }
}

impl UrlWanted for &String {
    fn matches(&self, url: &str) -> bool {
        url.starts_with(self.as_str())
    }
    fn describe(&self) -> String {
        format!("a URL starting with {self:?}")
    }
}

impl<F: Fn(&str) -> bool> UrlWanted for F {
    fn matches(&self, url: &str) -> bool {
        self(url)
    }
    fn describe(&self) -> String {
        "a URL the predicate accepts".into()
    }
}

impl Browser {
    /// A new Chromium with a fresh, empty profile.
    pub async fn start() -> Browser {
        let chromium = installed(CHROMIUM, "Chromium");
        installed(CHROMEDRIVER, "chromedriver");
        let mut driver = Driver::start().await;
        let mut caps = fantoccini::wd::Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": FLAGS
                    .iter()
                    .map(|f| f.to_string())
                    .chain([format!("--user-data-dir={}", driver.profile().display())])
                    .collect::<Vec<_>>(),
            }),
        );
        // The browser's own limits, under the kit's `COMMAND`.
        caps.insert(
            "timeouts".into(),
            json!({"pageLoad": 45_000, "script": 30_000, "implicit": 0}),
        );
        let url = format!("http://127.0.0.1:{}", driver.port);
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let connect = builder.connect(&url);
        let client = match tokio::time::timeout(SESSION_START, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "Chromium did not start through chromedriver: {e}\n{}",
                driver.log_tail()
            ),
            Err(_) => panic!(
                "Chromium did not start within {SESSION_START:?}\n{}",
                driver.log_tail()
            ),
        };
        driver.session = client.session_id().await.ok().flatten();
        Browser { client, driver }
    }

    /// Loads `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.run(format!("goto {url}"), self.client.goto(url)).await;
    }

    /// The page's URL now.
    pub async fn current_url(&self) -> String {
        let url = self.run("current_url", self.client.current_url()).await;
        url.to_string()
    }

    /// Clears the field `css` matches, then types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        self.run(format!("clear {css}"), field.clear()).await;
        self.run(format!("type into {css}"), field.send_keys(text))
            .await;
    }

    /// Clicks the element `css` matches (as a user would: it must be
    /// visible and not covered).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.run(format!("click {css}"), element.click()).await;
    }

    /// Submits the form `form_css` matches as its submit button would
    /// (`requestSubmit`: validation and submit handlers run).
    pub async fn submit(&self, form_css: &str) {
        let form = self.find(form_css).await;
        let form = serde_json::to_value(&form).expect("element reference");
        self.run(
            format!("submit {form_css}"),
            self.client
                .execute("arguments[0].requestSubmit()", vec![form]),
        )
        .await;
    }

    /// The visible text of the element `css` matches.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.run(format!("text of {css}"), element.text()).await
    }

    /// Whether an element matches `css` now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        !self
            .run(
                format!("find all {css}"),
                self.client.find_all(Locator::Css(css)),
            )
            .await
            .is_empty()
    }

    /// The page's HTML as the browser has it now (after scripts).
    pub async fn html(&self) -> String {
        self.run("html", self.client.source()).await
    }

    /// Waits up to 10 s for an element to match `css`.
    pub async fn wait_for(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let found =
                tokio::time::timeout(COMMAND, self.client.find_all(Locator::Css(css))).await;
            // Errors while a page is being replaced are retried too.
            if let Ok(Ok(found)) = found
                && !found.is_empty()
            {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "browser: waited {WAIT:?} for an element matching {css:?}\n{}",
                    self.context().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to 10 s for the page's URL to be `wanted`: a prefix
    /// (`"http://127.0.0.1:80/done"`) or a predicate (`|u: &str| …`); answers
    /// the URL.
    pub async fn wait_for_url(&self, wanted: impl UrlWanted) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Ok(url)) = tokio::time::timeout(COMMAND, self.client.current_url()).await
                && wanted.matches(url.as_str())
            {
                return url.to_string();
            }
            if Instant::now() >= deadline {
                panic!(
                    "browser: waited {WAIT:?} for {}\n{}",
                    wanted.describe(),
                    self.context().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The cookies the browser would send to the current page (WebDriver
    /// sees those of the current document only).
    pub async fn cookies(&self) -> Vec<Cookie> {
        let jar = self.run("cookies", self.client.get_all_cookies()).await;
        jar.into_iter()
            .map(|c| Cookie {
                name: c.name().to_owned(),
                value: c.value().to_owned(),
                domain: c.domain().map(str::to_owned),
                path: c.path().map(str::to_owned),
                secure: c.secure().unwrap_or(false),
                http_only: c.http_only().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
                expires: c
                    .expires()
                    .and_then(|e| e.datetime())
                    .map(|t| t.unix_timestamp()),
            })
            .collect()
    }

    /// The cookie called `name` the current page has, if any.
    pub async fn cookie(&self, name: &str) -> Option<Cookie> {
        self.cookies().await.into_iter().find(|c| c.name == name)
    }

    /// Saves the viewport as `<target>/screenshots/<name>.png`; answers the
    /// path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.run("screenshot", self.client.screenshot()).await;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("writing the screenshot");
        path
    }

    /// Runs `js` as a function body in the page (`return` gives the value;
    /// `arguments` is empty) and answers its JSON value.
    pub async fn eval(&self, js: &str) -> Value {
        self.run("eval", self.client.execute(js, Vec::new())).await
    }

    /// The fantoccini client, for what the kit has no method for.
    pub fn webdriver(&self) -> &Client {
        &self.client
    }

    /// Gives the browser Chromium's virtual authenticator (WebDriver's
    /// WebAuthn extension): a platform authenticator with resident keys
    /// that verifies its user, for passkeys.
    pub async fn add_virtual_authenticator(&self) {
        self.run(
            "add a virtual authenticator",
            self.client.issue_cmd(VirtualAuthenticator),
        )
        .await;
    }

    /// Ends the session (Chromium quits), then stops chromedriver.
    pub async fn close(self) {
        let Browser { client, mut driver } = self;
        if tokio::time::timeout(Duration::from_secs(20), client.close())
            .await
            .is_ok_and(|r| r.is_ok())
        {
            driver.session = None;
        }
        // Kills chromedriver (and ends the session first if that failed).
        drop(driver);
    }

    /// The one element `css` matches, or a panic saying which.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match tokio::time::timeout(COMMAND, self.client.find(Locator::Css(css))).await {
            Ok(Ok(element)) => element,
            Ok(Err(e)) => panic!(
                "browser: no element matches {css:?}: {e}\n{}",
                self.context().await
            ),
            Err(_) => panic!(
                "browser: finding {css:?} took over {COMMAND:?}\n{}",
                self.context().await
            ),
        }
    }

    /// `command`'s answer, or a panic naming `what`.
    async fn run<T, E: Display>(
        &self,
        what: impl Display,
        command: impl Future<Output = Result<T, E>>,
    ) -> T {
        match tokio::time::timeout(COMMAND, command).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("browser: {what}: {e}\n{}", self.context().await),
            Err(_) => panic!(
                "browser: {what}: no answer within {COMMAND:?}\n{}",
                self.context().await
            ),
        }
    }

    /// The page's URL and the start of its HTML, for a panic message.
    async fn context(&self) -> String {
        let quick = Duration::from_secs(5);
        let url = match tokio::time::timeout(quick, self.client.current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            _ => "(unknown)".into(),
        };
        let html = match tokio::time::timeout(quick, self.client.source()).await {
            Ok(Ok(html)) => html.chars().take(2000).collect(),
            _ => String::from("(unavailable)"),
        };
        format!("  at {url}\n  page: {html}")
    }
}

/// `POST /session/{id}/webauthn/authenticator` with a platform
/// authenticator that holds resident keys and verifies its user.
#[derive(Debug)]
struct VirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for VirtualAuthenticator {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session.unwrap_or_default();
        base.join(&format!("session/{session}/webauthn/authenticator"))
    }

    fn method_and_body(&self, _: &url::Url) -> (warp::http::Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        (warp::http::Method::POST, Some(body.to_string()))
    }
}

/// `path`, or a panic saying how to install it.
fn installed(path: &'static str, what: &str) -> &'static str {
    assert!(
        Path::new(path).exists(),
        "the browser tests need {what} ({path}): `cargo xtask test` installs it (as root) or prints how"
    );
    path
}

/// `<target>/screenshots`: next to the `tmp` directory cargo gives the tests.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target directory")
        .join("screenshots")
}

/// chromedriver in a process group of its own, its log and the profile
/// directory its Chromium uses. On `Drop` it ends the session (chromedriver
/// quits and reaps Chromium), then kills the group.
struct Driver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    /// The WebDriver session still open, if any.
    session: Option<String>,
}

impl Driver {
    /// chromedriver listening on a free port (another is tried if the port
    /// was taken in between).
    async fn start() -> Driver {
        let dir = tempfile::tempdir().expect("browser temp dir");
        std::fs::create_dir(dir.path().join("profile")).expect("profile dir");
        let log = dir.path().join("chromedriver.log");
        for _ in 0..3 {
            let port = super::free_port();
            let mut child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
            let deadline = Instant::now() + DRIVER_START;
            loop {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return Driver {
                        child,
                        port,
                        dir,
                        session: None,
                    };
                }
                if child.try_wait().expect("chromedriver status").is_some() {
                    break;
                }
                if Instant::now() >= deadline {
                    kill_group(&mut child);
                    panic!(
                        "chromedriver did not listen on port {port} within {DRIVER_START:?}\n{}",
                        log_tail(&log)
                    );
                }
                tokio::time::sleep(POLL).await;
            }
        }
        panic!(
            "chromedriver exited at start-up three times\n{}",
            log_tail(&log)
        );
    }

    fn profile(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("chromedriver.log"))
    }

    /// Ends the session the blocking way (`Drop` cannot await): chromedriver
    /// answers once Chromium has quit.
    fn end_session(&mut self, id: &str) {
        use std::io::{Read, Write};
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut conn) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        else {
            return;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(15)));
        let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        if conn.write_all(request.as_bytes()).is_err() {
            return;
        }
        // Read the whole answer (chromedriver keeps the connection open).
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = conn.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]);
                if got.len() >= end + 4 + super::content_length(&head) {
                    return;
                }
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            self.end_session(&id);
        }
        kill_group(&mut self.child);
    }
}

/// Kills `child`'s process group (chromedriver and whatever of Chromium is
/// left) and reaps `child`.
fn kill_group(child: &mut Child) {
    // SAFETY: a plain syscall on the process group this kit made for
    // `child`, which is not reaped yet, so the group id is still ours.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    let _ = child.wait();
}

/// The end of chromedriver's log, for a panic message.
fn log_tail(log: &Path) -> String {
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let mut start = log.len().saturating_sub(4000);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    format!("chromedriver log (end):\n{}", &log[start..])
}
