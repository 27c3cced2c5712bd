//! The one rule for redirect targets, wherever a request names one
//! (forward-auth's `?url=` / `?rd=` / `X-Original-URL`,
//! `passwordless-start.redirect_url`): an absolute `https` URL without user
//! info whose host is a configured domain or a subdomain of one
//! (`forward_auth_domains`, `redirect_domains`), or a URL on the sign-in
//! portal's own origin (which may be plain `http` on loopback, for
//! development). Anything else is refused, never rewritten into something
//! allowed.
//!
//! The raw text is checked before it is parsed, because the URL parser
//! forgives what browsers forgive too: it drops tabs and newlines, reads
//! `\` as `/` and `https:evil.example` as `https://evil.example/`.

/// Why a target is not allowed (for logs and tests; callers answer one
/// refusal for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectRefused {
    #[error("contains whitespace or control characters")]
    Unprintable,
    #[error("contains a backslash")]
    Backslash,
    #[error("is not an absolute https:// URL")]
    NotHttps,
    #[error("does not parse as a URL")]
    Unparsable,
    #[error("carries user info")]
    UserInfo,
    #[error("names an IP address, not a domain")]
    NotADomain,
    #[error("is not on an allowed domain")]
    ForeignHost,
}

/// The allowed domains, each also allowing its subdomains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectRule {
    domains: Vec<String>,
    /// The portal's own origin (`scheme://host:port`), when it is served.
    own_origin: Option<url::Origin>,
}

impl RedirectRule {
    /// From configured names: lower-cased, IDNA to ASCII, leading and
    /// trailing dots dropped; empty entries skipped. Names that are not
    /// domain names are dropped here and refused by the config check.
    pub fn new<'a>(domains: impl IntoIterator<Item = &'a str>) -> RedirectRule {
        let domains = domains
            .into_iter()
            .filter_map(|d| normalise_domain(d).ok().flatten())
            .collect();
        RedirectRule {
            domains,
            own_origin: None,
        }
    }

    /// The rule that also allows URLs on `portal`'s origin.
    pub fn with_own_origin(mut self, portal: &url::Url) -> RedirectRule {
        self.own_origin = Some(portal.origin());
        self
    }

    /// The allowed domains, for a `form-action` source list.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// Whether `target` may be redirected to.
    pub fn allows(&self, target: &str) -> bool {
        self.check(target).is_ok()
    }

    pub fn check(&self, target: &str) -> Result<(), RedirectRefused> {
        if target.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(RedirectRefused::Unprintable);
        }
        if target.contains('\\') {
            return Err(RedirectRefused::Backslash);
        }
        if self.is_own_origin(target) {
            return Ok(());
        }
        // `https://` spelled out, and an authority right after it:
        // `https:evil`, `https:/evil` and `https:///evil` all parse.
        let rest = target
            .get(..8)
            .filter(|s| s.eq_ignore_ascii_case("https://"))
            .map(|_| &target[8..])
            .ok_or(RedirectRefused::NotHttps)?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(RedirectRefused::NotHttps);
        }
        let u = url::Url::parse(target).map_err(|_| RedirectRefused::Unparsable)?;
        if u.scheme() != "https" {
            return Err(RedirectRefused::NotHttps);
        }
        if !u.username().is_empty() || u.password().is_some() || authority(rest).contains('@') {
            return Err(RedirectRefused::UserInfo);
        }
        let Some(url::Host::Domain(host)) = u.host() else {
            return Err(RedirectRefused::NotADomain);
        };
        let host = host.to_ascii_lowercase();
        let on = |d: &String| {
            host == *d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        };
        if self.domains.iter().any(on) {
            Ok(())
        } else {
            Err(RedirectRefused::ForeignHost)
        }
    }
}

impl RedirectRule {
    /// An absolute URL spelled out (`scheme://host…`), without user info,
    /// on the portal's own origin.
    fn is_own_origin(&self, target: &str) -> bool {
        let Some(own) = &self.own_origin else {
            return false;
        };
        let Some((scheme, rest)) = target.split_once("://") else {
            return false;
        };
        if !matches!(scheme, "http" | "https") || authority(rest).contains('@') {
            return false;
        }
        url::Url::parse(target).is_ok_and(|u| u.origin() == *own && u.username().is_empty())
    }
}

/// The authority part of what follows `https://`: up to the first `/`, `?`
/// or `#`.
fn authority(rest: &str) -> &str {
    rest.split(['/', '?', '#']).next().unwrap_or_default()
}

/// A configured entry that is not a domain name (an IP address, a URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a domain name")]
pub struct NotADomain;

/// A configured domain as the rule compares it; `Ok(None)` for an empty
/// entry.
pub fn normalise_domain(d: &str) -> Result<Option<String>, NotADomain> {
    let d = d.trim().trim_start_matches('.').trim_end_matches('.');
    if d.is_empty() {
        return Ok(None);
    }
    match url::Host::parse(d) {
        Ok(url::Host::Domain(name)) if !name.contains(['/', ':', '@']) => {
            Ok(Some(name.to_ascii_lowercase()))
        }
        _ => Err(NotADomain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule() -> RedirectRule {
        RedirectRule::new(["example.com", ".Other.Example."])
    }

    #[test]
    fn the_portals_own_origin_passes_even_on_plain_http_loopback() {
        let portal = url::Url::parse("http://127.0.0.1:8080/auth/").unwrap();
        let r = rule().with_own_origin(&portal);
        assert!(r.allows("http://127.0.0.1:8080/app?x=1"));
        assert!(r.allows("https://app.example.com/"));
        for refused in [
            "http://127.0.0.1:8081/app",
            "https://127.0.0.1:8080/app",
            "http://user@127.0.0.1:8080/app",
            "http:127.0.0.1:8080/app",
            "http://127.0.0.1:8080\\@evil.example/",
            "http://127.0.0.1:8080/a\tb",
        ] {
            assert!(!r.allows(refused), "{refused}");
        }
        assert!(!rule().allows("http://127.0.0.1:8080/app"));
    }

    #[test]
    fn https_urls_on_the_domains_and_their_subdomains_pass() {
        let r = rule();
        for ok in [
            "https://example.com/",
            "https://example.com",
            "https://app.example.com/a?b=c#d",
            "https://APP.Example.com:8443/x",
            "HTTPS://example.com/",
            "https://a.b.other.example/",
            "https://other.example/x@y",
            "https://example.com/?next=https://evil.example/",
        ] {
            assert_eq!(r.check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn everything_else_is_refused() {
        use RedirectRefused::*;
        let r = rule();
        for (bad, why) in [
            ("http://app.example.com/", NotHttps),
            ("//evil.example", NotHttps),
            ("/relative", NotHttps),
            ("relative", NotHttps),
            ("javascript:alert(1)", NotHttps),
            ("JaVaScRiPt:alert(1)//https://example.com/", NotHttps),
            ("data:text/html,hi", NotHttps),
            ("https:evil.example", NotHttps),
            ("https:/example.com", NotHttps),
            ("https:///example.com", NotHttps),
            ("https://", NotHttps),
            ("", NotHttps),
            ("https://evil.example/", ForeignHost),
            ("https://example.com.evil.example/", ForeignHost),
            ("https://evilexample.com/", ForeignHost),
            ("https://example.com./", ForeignHost),
            ("https://user@app.example.com/", UserInfo),
            ("https://app.example.com@evil.example/", UserInfo),
            ("https://:pw@app.example.com/", UserInfo),
            ("https://a%40b@app.example.com/", UserInfo),
            ("https://evil.example\\@app.example.com/", Backslash),
            ("https://app.example.com\\@evil.example/", Backslash),
            ("https:\\\\evil.example", Backslash),
            ("https://127.0.0.1/", NotADomain),
            ("https://[::1]/", NotADomain),
            ("https://0x7f.1/", NotADomain),
            (" https://example.com/", Unprintable),
            ("https://example.com/\n", Unprintable),
            ("https://exa\tmple.com/", Unprintable),
            ("https://evil.example\r\n.example.com/", Unprintable),
            ("https://example.com/\u{0}", Unprintable),
            ("https://example.com/\u{2028}", Unprintable),
            ("https://exa mple.com/", Unprintable),
        ] {
            assert_eq!(r.check(bad), Err(why), "{bad:?}");
        }
        assert!(!RedirectRule::default().allows("https://example.com/"));
    }

    #[test]
    fn configured_names_are_normalised_and_checked() {
        assert_eq!(
            normalise_domain(" .Example.COM. "),
            Ok(Some("example.com".into()))
        );
        assert_eq!(normalise_domain(""), Ok(None));
        assert_eq!(
            normalise_domain("bücher.example"),
            Ok(Some("xn--bcher-kva.example".into()))
        );
        for bad in ["127.0.0.1", "[::1]", "https://example.com", "a/b", "a b"] {
            assert!(normalise_domain(bad).is_err(), "{bad}");
        }
        assert!(
            RedirectRule::new(["bücher.example"]).allows("https://www.bücher.example/"),
            "IDNA hosts compare in ASCII"
        );
    }

    proptest! {
        /// Whatever follows the host's path, a target passes only when it
        /// is `https://` + a host on the list: a URL on another host never
        /// does, however the rest is dressed.
        #[test]
        fn no_target_on_another_host_passes(
            prefix in "[a-z0-9.@:/\\\\ \t%]{0,12}",
            host in "[a-z]{1,8}\\.(evil|example)",
            rest in "[ -~]{0,24}",
        ) {
            let r = RedirectRule::new(["good.example"]);
            let target = format!("{prefix}https://{host}{rest}");
            if r.allows(&target) {
                let u = url::Url::parse(&target).unwrap();
                let h = u.host_str().unwrap();
                prop_assert!(h == "good.example" || h.ends_with(".good.example"), "{target} → {h}");
                prop_assert_eq!(u.scheme(), "https");
                prop_assert!(u.username().is_empty() && u.password().is_none());
            }
        }

        /// Any subdomain of an allowed domain passes with any path.
        #[test]
        fn subdomains_with_any_path_pass(
            sub in "([a-z0-9]{1,10}\\.){0,3}",
            path in "(/[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,16}){0,4}",
        ) {
            let r = RedirectRule::new(["good.example"]);
            let target = format!("https://{sub}good.example{path}");
            prop_assert!(r.allows(&target), "{}", target);
        }

        /// Anything with a character that is not printable ASCII or
        /// beyond ASCII in the authority, or any control character, is
        /// refused, wherever it sits.
        #[test]
        fn control_characters_anywhere_are_refused(
            at in 0usize..30,
            c in prop::sample::select(vec!['\n', '\r', '\t', '\u{0}', '\u{7f}', '\u{85}', ' ', '\u{a0}']),
        ) {
            let r = RedirectRule::new(["good.example"]);
            let mut target = "https://app.good.example/path?q=1".to_owned();
            let at = at.min(target.len());
            target.insert(at, c);
            prop_assert!(!r.allows(&target), "{:?}", target);
        }
    }
}
