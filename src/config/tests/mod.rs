#![allow(clippy::result_large_err)] // figment::Jail's closure signature

use std::path::Path;

use figment::Figment;
use figment::providers::Serialized;

use super::server::{
    DEFAULT_MAX_CONNECTIONS, MAX_BODY_READ_TIMEOUT, MAX_CONNECTIONS, connection_budget,
};
use super::*;

mod database;

#[test]
fn invalid_values_name_their_key() {
    let cfg = Config {
        server: ServerConfig {
            request_ttl: 0,
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let err = cfg.validated().expect_err("ttl 0 is invalid");
    assert!(err.to_string().contains("`request_ttl`"), "{err}");

    let cfg = Config {
        database: DatabaseConfig {
            database_url: "oracle://db".into(),
            ..DatabaseConfig::default()
        },
        ..Config::default()
    };
    let err = cfg.validated().expect_err("unknown scheme");
    assert!(err.to_string().contains("`database_url`"), "{err}");

    let cfg = Config {
        passwordless: PasswordlessConfig {
            passwordless_ip_window: u64::MAX,
            ..PasswordlessConfig::default()
        },
        ..Config::default()
    };
    let err = cfg.validated().expect_err("a window past any date");
    assert!(
        err.to_string().contains("`passwordless_ip_window`"),
        "{err}"
    );

    let cfg = Config {
        sms: SmsConfig {
            sms_sender: SmsSender::Twilio,
            twilio_account_sid: Some("AC1".into()),
            ..SmsConfig::default()
        },
        ..Config::default()
    };
    let err = cfg.validated().expect_err("twilio without a token");
    assert!(err.to_string().contains("`twilio_auth_token`"), "{err}");
}

#[test]
fn every_bounded_number_out_of_range_stops_start_up_naming_its_key() {
    let base = Config::default();
    for (key, _, min, max, _) in base.bounded() {
        let mut outside = vec![max.saturating_add(1), u64::MAX];
        if min > 0 {
            outside.push(min - 1);
        }
        for value in outside {
            let fig = Figment::from(Serialized::defaults(Config::default()))
                .merge(Serialized::default(key, value));
            let err =
                Config::from_figment(fig).expect_err(&format!("{key} = {value} must be refused"));
            let msg = err.to_string();
            assert!(msg.contains(&format!("`{key}`")), "{key} = {value}: {msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
}

#[test]
fn transport_limits_are_bounded() {
    for bad in [0, MAX_BODY_READ_TIMEOUT + 1, u64::MAX] {
        let cfg = Config {
            server: ServerConfig {
                body_read_timeout: bad,
                ..ServerConfig::default()
            },
            ..Config::default()
        };
        let err = cfg.validated().expect_err("body timeout out of range");
        assert!(err.to_string().contains("`body_read_timeout`"), "{err}");
    }
    for good in [1, 5, MAX_BODY_READ_TIMEOUT] {
        let cfg = Config {
            server: ServerConfig {
                body_read_timeout: good,
                ..ServerConfig::default()
            },
            ..Config::default()
        };
        assert!(cfg.validated().is_ok(), "body_read_timeout {good}");
    }

    let ceiling = Config::default().connection_ceiling();
    for bad in [0, ceiling + 1, usize::MAX] {
        let cfg = Config {
            server: ServerConfig {
                max_connections: Some(bad),
                ..ServerConfig::default()
            },
            ..Config::default()
        };
        let err = cfg.validated().expect_err("connection cap out of range");
        assert!(err.to_string().contains("`max_connections`"), "{err}");
    }
    for good in [1, 100, ceiling] {
        let cfg = Config {
            server: ServerConfig {
                max_connections: Some(good),
                ..ServerConfig::default()
            },
            ..Config::default()
        };
        let cfg = cfg.validated().expect("cap in range");
        assert_eq!(cfg.connection_limit(), good);
    }

    // The default leaves room for the pool, mail and logs.
    let derived = Config::default().connection_limit();
    assert!(
        (1..=DEFAULT_MAX_CONNECTIONS).contains(&derived),
        "{derived}"
    );
    if let Some(limit) = descriptor_limit() {
        assert!((derived as u64) < limit, "{derived} of {limit}");
    }
}

#[test]
fn authnzerver_lock_time_past_any_date_is_refused_by_name() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTHNZERVER_USERLOCKTIME", "999999999999999999");
        let err = Config::load(None).expect_err("a lock time past any date");
        assert!(err.to_string().contains("`user_lock_time`"), "{err}");
        Ok(())
    });
}

#[test]
fn the_connection_budget_follows_the_descriptor_limit() {
    // 256 + 3 per pool connection kept back.
    assert_eq!(connection_budget(20_000, 8), 20_000 - 280);
    assert_eq!(connection_budget(1024, 8), 1024 - 280);
    assert_eq!(connection_budget(1024, 100), 512);
    // Too small for the reserve: half.
    assert_eq!(connection_budget(256, 8), 128);
    assert_eq!(connection_budget(1, 8), 1);
    assert_eq!(connection_budget(0, 8), 1);
    // Unlimited (RLIM_INFINITY) or huge: the absolute ceiling.
    assert_eq!(connection_budget(u64::MAX, 8), MAX_CONNECTIONS);
}

#[test]
fn naming_an_smtp_server_means_smtp() {
    figment::Jail::expect_with(|jail| {
        assert_eq!(
            Config::load(None).expect("loads").mail.mail_transport,
            MailTransport::Log
        );
        jail.set_env("AUTHNZERVER_EMAILSERVER", "mail.example.org");
        jail.set_env("AUTHNZERVER_EMAILPORT", "2525");
        let cfg = Config::load(None).expect("loads");
        assert_eq!(cfg.mail.mail_transport, MailTransport::Smtp);
        assert_eq!(cfg.mail.smtp_host, "mail.example.org");
        assert_eq!(cfg.mail.smtp_port, 2525);
        assert_eq!(cfg.mail.smtp_tls, SmtpTls::Starttls);
        // A transport named outright wins.
        jail.set_env("AUTHNZD_MAIL_TRANSPORT", "file");
        assert_eq!(
            Config::load(None).expect("loads").mail.mail_transport,
            MailTransport::File
        );
        Ok(())
    });
}

#[test]
fn env_layers_authnzerver_names_under_authnzd_names() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTHNZERVER_PORT", "14000");
        jail.set_env("AUTHNZERVER_SESSIONEXPIRY", "7");
        jail.set_env("AUTHNZD_SESSION_EXPIRY_DAYS", "9");
        jail.set_env("AUTHNZD_URL", "http://not-a-server-setting/");
        let cfg = Config::load(None).expect("loads");
        assert_eq!(cfg.server.port, 14000);
        assert_eq!(cfg.sessions.session_expiry_days, 9);
        Ok(())
    });
}

#[test]
fn a_toml_file_sits_under_the_environment() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "authnzd.toml",
            "port = 15000\nsession_expiry_days = 3\nlog_format = \"json\"\n",
        )?;
        jail.set_env("AUTHNZD_SESSION_EXPIRY_DAYS", "4");
        let cfg = Config::load(None).expect("loads");
        assert_eq!(cfg.server.port, 15000);
        assert_eq!(cfg.sessions.session_expiry_days, 4);
        assert_eq!(cfg.logging.log_format, LogFormat::Json);
        jail.create_file("bad.toml", "no_such_key = 1\n")?;
        let err = Config::load(Some(Path::new("bad.toml"))).expect_err("unknown key");
        assert!(err.to_string().contains("no_such_key"), "{err}");
        Ok(())
    });
}

#[test]
fn bad_env_value_is_one_line_naming_the_key() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTHNZD_PORT", "not-a-port");
        let err = Config::load(None).expect_err("bad port");
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.contains("port"), "{msg}");
        Ok(())
    });
}

#[test]
fn log_requests_is_on_unless_the_file_or_the_environment_says_false() {
    figment::Jail::expect_with(|jail| {
        assert!(Config::load(None).expect("defaults").logging.log_requests);
        jail.create_file("quiet.toml", "log_requests = false\n")?;
        let quiet = Config::load(Some(Path::new("quiet.toml"))).expect("loads");
        assert!(!quiet.logging.log_requests);
        jail.set_env("AUTHNZD_LOG_REQUESTS", "true");
        let loud = Config::load(Some(Path::new("quiet.toml"))).expect("loads");
        assert!(loud.logging.log_requests);
        Ok(())
    });
}

#[test]
fn the_sections_serialise_as_one_flat_map_of_keys() {
    let keys = config_keys();
    for key in ["listen", "database_url", "secret", "smtp_host", "log_level"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    for section in ["server", "database", "keys", "mail", "sms", "logging"] {
        assert!(!keys.contains(&section), "{section} in {keys:?}");
    }
    for (_, key) in AUTHNZERVER_ENV {
        assert!(keys.contains(key), "{key} in {keys:?}");
    }
}

#[test]
fn of_several_problems_the_first_key_in_order_is_named() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "two.toml",
            "zzz = 1\nport = \"abc\"\nlisten = \"x\"\nuser_lock_tries = -1\n",
        )?;
        let err = Config::load(Some(Path::new("two.toml"))).expect_err("bad keys");
        assert!(err.to_string().contains("key `listen`"), "{err}");
        jail.create_file("three.toml", "aaa = 1\nport = \"abc\"\n")?;
        let err = Config::load(Some(Path::new("three.toml"))).expect_err("unknown key");
        assert!(
            err.to_string().contains("key `aaa`: unknown field"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn portal_sign_up_is_off_unless_turned_on() {
    assert!(!Config::default().portal.portal_signup);
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTHNZD_PORTAL_SIGNUP", "true");
        jail.set_env("AUTHNZD_PORTAL_RESET_TTL", "900");
        let c = Config::load(None).expect("config");
        assert!(c.portal.portal_signup);
        assert_eq!(c.portal.portal_reset_ttl, 900);
        assert_eq!(c.portal.portal_verify_ttl, 86_400);
        jail.set_env("AUTHNZD_PORTAL_RESET_TTL", "60");
        let err = Config::load(None).expect_err("a reset link shorter than 5 minutes");
        assert!(err.to_string().contains("`portal_reset_ttl`"), "{err}");
        Ok(())
    });
}

#[test]
fn oidc_is_off_and_needs_the_portal() {
    assert!(!Config::default().oidc.oidc);
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTHNZD_OIDC", "true");
        let err = Config::load(None).expect_err("oidc without the portal");
        assert!(err.to_string().contains("`oidc`"), "{err}");
        jail.set_env("AUTHNZD_PORTAL", "true");
        jail.set_env("AUTHNZD_OIDC_CODE_TTL", "3600");
        let err = Config::load(None).expect_err("a code living an hour");
        assert!(err.to_string().contains("`oidc_code_ttl`"), "{err}");
        jail.set_env("AUTHNZD_OIDC_CODE_TTL", "30");
        let c = Config::load(None).expect("config");
        assert!(c.oidc.oidc);
        assert_eq!(c.oidc.oidc_code_ttl, 30);
        Ok(())
    });
}

#[test]
fn check_config_sees_every_problem_not_only_the_first() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "unread.toml",
            "zzz = 1\nlisten = \"x\"\nuser_lock_tries = -1\n",
        )?;
        let fig = Config::figment(Some(Path::new("unread.toml")));
        let all = Config::extract_all(&fig).expect_err("bad keys");
        let text: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        for key in ["zzz", "listen", "user_lock_tries"] {
            assert!(text.iter().any(|t| t.contains(key)), "{key}: {text:#?}");
        }

        jail.create_file(
            "bounds.toml",
            "request_ttl = 0\nuser_lock_tries = 5000\ndatabase_url = \"oracle://x\"\n",
        )?;
        let fig = Config::figment(Some(Path::new("bounds.toml")));
        let config = Config::extract_all(&fig).expect("readable");
        let all = config.clone().checked().expect_err("out of bounds");
        let text: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        // `validated` still names the first of them.
        let first = config.validated().expect_err("out of bounds").to_string();
        assert_eq!(first, text[0]);
        Ok(())
    });
}

#[test]
fn trusted_proxies_and_redirect_domains_are_read_and_checked() {
    figment::Jail::expect_with(|jail| {
        let cfg = Config::load(None).expect("loads");
        assert_eq!(cfg.server.trusted_proxies, ["127.0.0.0/8", "::1/128"]);
        jail.create_file(
            "authnzd.toml",
            "trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\nredirect_domains = \"example.org, .example.net\"\n",
        )?;
        let cfg = Config::load(None).expect("loads");
        assert_eq!(cfg.server.trusted_proxies, ["10.0.0.0/8", "192.0.2.1"]);
        assert!(cfg.gateway.redirect_rule().allows("https://a.example.net/"));
        // The environment's one string, comma separated; `[]` is none.
        jail.set_env("AUTHNZD_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8");
        let cfg = Config::load(None).expect("loads");
        assert_eq!(cfg.server.trusted_proxies, ["10.0.0.0/8", "fd00::/8"]);
        jail.set_env("AUTHNZD_TRUSTED_PROXIES", "[]");
        let cfg = Config::load(None).expect("loads");
        assert!(cfg.server.trusted_proxies.is_empty());
        jail.set_env("AUTHNZD_TRUSTED_PROXIES", "10.0.0.0/40");
        let err = Config::load(None).expect_err("not a CIDR block");
        assert!(err.to_string().contains("`trusted_proxies`"), "{err}");
        jail.set_env("AUTHNZD_TRUSTED_PROXIES", "");
        jail.set_env("AUTHNZD_REDIRECT_DOMAINS", "https://example.org/");
        let err = Config::load(None).expect_err("not a domain");
        assert!(err.to_string().contains("`redirect_domains`"), "{err}");
        jail.set_env("AUTHNZD_REDIRECT_DOMAINS", "");
        jail.set_env("AUTHNZD_FORWARD_AUTH_DOMAINS", "10.0.0.1");
        let err = Config::load(None).expect_err("an address, not a domain");
        assert!(err.to_string().contains("`forward_auth_domains`"), "{err}");
        Ok(())
    });
}
