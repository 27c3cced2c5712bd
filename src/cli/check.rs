//! `authnzd check-config`: everything `serve` loads before it listens,
//! checked with the same code, every problem on a line of its own. Nothing
//! is written: a missing key file or SQLite file (which `serve` would
//! create) is a note on stderr, not a problem.

use std::time::Duration;

use authnzd::config::{self, Config};
use authnzd::envelope::KeyRing;
use authnzd::keys::{self, KeySource};
use authnzd::security::rate_limit::Limits;
use authnzd::{rpc, setup, store};
use figment::Figment;

use super::CliError;

/// How long the database gets to answer.
const DATABASE_WAIT: Duration = Duration::from_secs(10);

pub async fn run(fig: Figment) -> Result<(), CliError> {
    authnzd::tls::install_provider();
    let problems = problems(&fig).await;
    if problems.is_empty() {
        println!("configuration OK");
        return Ok(());
    }
    for p in &problems {
        println!("{p}");
    }
    Err(CliError::Problems(problems.len()))
}

async fn problems(fig: &Figment) -> Vec<String> {
    let config = match Config::extract_all(fig) {
        Ok(c) => c,
        // Keys that cannot be read leave nothing sound to check further.
        Err(all) => return all.iter().map(ToString::to_string).collect(),
    };
    let mut out = Vec::new();
    // The values' own checks; what follows uses the checked config where
    // there is one, else the values as read.
    let config = match config.clone().checked() {
        Ok(c) => c,
        Err(all) => {
            out.extend(all.iter().map(ToString::to_string));
            config
        }
    };
    if let Err(e) = setup::permissions(&config) {
        out.push(e.to_string());
    }
    if let Err(e) = setup::notifiers(&config) {
        out.push(e.to_string());
    }
    if let Err(e) = setup::password_rules(&config) {
        out.push(e.to_string());
    }
    if let Err(e) = Limits::parse(&config.limits.rate_limits, rpc::is_request) {
        out.push(format!("config key `rate_limits`: {e}"));
    }
    if let Some(p) = key_problem(&config) {
        out.push(p);
    }
    if let Some(p) = database_problem(&config).await {
        out.push(p);
    }
    out
}

fn key_problem(config: &Config) -> Option<String> {
    match keys::source(config) {
        KeySource::Inline(secret) => KeyRing::parse(secret)
            .err()
            .map(|e| format!("config key `secret`: {e}")),
        KeySource::File(path) if !path.exists() => {
            eprintln!(
                "note: key file {} does not exist; serve will create it",
                path.display()
            );
            None
        }
        KeySource::File(path) => keys::read_key_file(&path).err().map(|e| e.to_string()),
    }
}

/// Whether the database answers (a SQLite file that does not exist yet is
/// not opened, so that it is not created; a missing directory is a problem,
/// since `serve` creates only the file).
async fn database_problem(config: &Config) -> Option<String> {
    // Normalised here too: with other problems `config` is as read.
    let raw = &config.database.database_url;
    let url = config::normalised_database_url(raw).unwrap_or_else(|| raw.clone());
    if let Some(file) = config::sqlite_path(&url)
        && !file.exists()
    {
        if let Some(problem) = config::sqlite_directory_missing(&url) {
            return Some(format!("database: {problem}"));
        }
        eprintln!(
            "note: database file {} does not exist; serve will create it",
            file.display()
        );
        return None;
    }
    let mut normalised = config.clone();
    normalised.database.database_url = url;
    let connected = tokio::time::timeout(DATABASE_WAIT, store::connect(&normalised)).await;
    match connected {
        Err(_) => Some(format!(
            "database: no answer within {} s",
            DATABASE_WAIT.as_secs()
        )),
        Ok(Err(e)) => Some(format!("database: {e}")),
        Ok(Ok(db)) => {
            let answered = store::ping(&db).await;
            db.close().await.ok();
            (!answered).then(|| "database: connected, but it does not answer".into())
        }
    }
}
