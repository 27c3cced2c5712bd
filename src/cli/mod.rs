//! The command line: `serve` (the default), `migrate`, `keygen`,
//! `catalogue`, and the operator's commands — `user` (accounts, on the
//! configured database through the same actions the RPC requests use),
//! `key` (the Fernet key ring), `check-config`, `request` (one encrypted
//! request to a running server), `completions` and `man`.

mod check;
mod client;
mod docs;
mod key;
mod request;
mod serve;
mod user;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use authnzd::config::{Config, ConfigError};
use clap::{Args, Parser, Subcommand};
use figment::Figment;
use figment::providers::Serialized;
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "authnzd",
    version,
    about = "Authentication and authorization server (authnzerver protocol)",
    after_help = "Examples:\n  authnzd serve --config /etc/authnzd.toml\n  authnzd check-config --config /etc/authnzd.toml\n  authnzd user add ops@example.com --name 'Ops' --role staff\n  authnzd request session-new '{\"ip_address\":\"10.0.0.1\",\"user_agent\":\"curl\",\"expires\":\"2030-01-01T00:00:00Z\",\"user_id\":null,\"extra_info_json\":null}'"
)]
pub struct Cli {
    /// TOML configuration file (default: ./authnzd.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Flags that override every other configuration source.
#[derive(Args, Serialize, Default)]
struct Overrides {
    /// Address to bind.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<IpAddr>,
    /// TCP port.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    /// Database URL (sqlite://…, postgres://…, mysql://…).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// Fernet key file.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    key_file: Option<PathBuf>,
    /// Log format: pretty or json.
    #[arg(long, global = true, value_parser = ["pretty", "json"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
    /// Log level (e.g. info, debug, or a tracing filter).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    #[command(after_help = "Example:\n  authnzd serve --config /etc/authnzd.toml --port 13431")]
    Serve,
    /// Print a new Fernet key.
    #[command(after_help = "Example:\n  authnzd keygen > frontend.key && chmod 600 frontend.key")]
    Keygen,
    /// Apply database migrations and exit.
    #[command(
        after_help = "Example:\n  authnzd migrate --database-url postgres://authnzd@db/authnzd"
    )]
    Migrate,
    /// Replace the access-token signing key now. Running servers sign with
    /// the new key within a minute; the old one stays published until the
    /// tokens it signed have expired.
    #[command(
        name = "rotate-token-key",
        after_help = "Example:\n  AUTHNZD_DATABASE_URL=postgres://… authnzd rotate-token-key"
    )]
    RotateTokenKey,
    /// Copy an authnzerver database (users, roles, sessions, both API-key
    /// families, verification and lockout state) into this server's
    /// database (`database_url`: empty, or only a first start's seed).
    #[command(
        name = "import-authnzerver",
        after_help = "Example:\n  authnzd import-authnzerver --from sqlite:////srv/authnzerver/.authdb.sqlite --dry-run"
    )]
    ImportAuthnzerver {
        /// The authnzerver database's URL (SQLAlchemy forms accepted).
        #[arg(long)]
        from: String,
        /// Count what would be copied; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the request types with their parameters, rate-limit groups and
    /// docs (e.g. `authnzd catalogue --json` for tools that check clients).
    #[command(after_help = "Example:\n  authnzd catalogue --json | jq '.[].name'")]
    Catalogue {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Accounts on the configured database: add, list, show, lock, unlock,
    /// set-role, reset-password, delete.
    #[command(subcommand)]
    User(user::UserCommand),
    /// The Fernet key ring in the key file: add, list, retire.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// OpenID Connect clients (relying parties): add, list, show,
    /// rotate-secret, delete.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Check everything `serve` would load, one line per problem.
    #[command(
        name = "check-config",
        long_about = "Loads and checks everything `serve` would before it listens: every \
configuration value and its bounds, the permissions policy file, the password policy, \
rate limits, mail and SMS settings, the key ring (a key file readable by group or \
others is a problem) and that the database answers. Prints one line per problem and \
exits 1 when there is any; 0 and `configuration OK` otherwise. Nothing is written.",
        after_help = "Example:\n  authnzd check-config --config /etc/authnzd.toml && systemctl restart authnzd"
    )]
    CheckConfig,
    /// Send one encrypted request to a running server; print the answer.
    Request(request::RequestArgs),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  authnzd completions bash > /etc/bash_completion.d/authnzd")]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (or write one per subcommand into a directory).
    #[command(
        after_help = "Examples:\n  authnzd man | man -l -\n  authnzd man --out-dir /usr/local/share/man/man1"
    )]
    Man {
        /// Write `authnzd.1`, `authnzd-user.1`… here instead.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
}

/// Why a command failed; `main` prints it as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] authnzd::StartError),
    #[error(transparent)]
    User(#[from] user::UserError),
    #[error(transparent)]
    Key(#[from] key::KeyCmdError),
    #[error(transparent)]
    Client(#[from] client::ClientError),
    #[error(transparent)]
    Request(#[from] request::RequestError),
    #[error("{0}")]
    Serve(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Output(std::io::Error),
    /// Problems already printed (check-config).
    #[error("{0} problem(s) found")]
    Problems(usize),
}

impl CliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Config(_) => ExitCode::from(2),
            _ => ExitCode::FAILURE,
        }
    }
}

impl Cli {
    /// The layered configuration sources with this command line's flags on
    /// top.
    fn figment(&self) -> Figment {
        Config::figment(self.config.as_deref()).merge(Serialized::defaults(&self.overrides))
    }

    fn load_config(&self) -> Result<Config, ConfigError> {
        Config::from_figment(self.figment())
    }

    /// The configuration for a command that is not `serve`: logging at
    /// `warn` unless a level is asked for, so its output is its answer.
    fn tool_config(&self) -> Result<Config, ConfigError> {
        let mut config = self.load_config()?;
        if self.overrides.log_level.is_none() {
            config.logging.log_level = "warn".into();
        }
        authnzd::logging::init(&config);
        Ok(config)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    runtime_with(None)
}

/// The runtime, with `workers` threads when given (else one per core).
fn runtime_with(workers: Option<usize>) -> Result<tokio::runtime::Runtime, CliError> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        b.worker_threads(n);
    }
    b.enable_all().build().map_err(CliError::Runtime)
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Problems(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("authnzd: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        None | Some(Command::Serve) => {
            let config = cli.load_config()?;
            authnzd::logging::init(&config);
            runtime_with(config.server.worker_threads)?.block_on(serve::serve(config))
        }
        Some(Command::Migrate) => {
            let config = cli.load_config()?;
            authnzd::logging::init(&config);
            runtime()?.block_on(serve::migrate(config))
        }
        Some(Command::RotateTokenKey) => {
            let config = cli.load_config()?;
            authnzd::logging::init(&config);
            runtime()?.block_on(serve::rotate_token_key(config))
        }
        Some(Command::ImportAuthnzerver { from, dry_run }) => {
            let config = cli.load_config()?;
            authnzd::logging::init(&config);
            runtime()?.block_on(serve::import_authnzerver(config, from, *dry_run))
        }
        Some(Command::Keygen) => {
            println!("{}", authnzd::envelope::KeyRing::generate_key());
            Ok(())
        }
        Some(Command::Catalogue { json }) => {
            docs::print_catalogue(*json);
            Ok(())
        }
        Some(Command::Completions { shell }) => {
            docs::completions(*shell);
            Ok(())
        }
        Some(Command::Man { out_dir }) => docs::man(out_dir.as_deref()).map_err(CliError::Output),
        Some(Command::User(command)) => {
            let config = cli.tool_config()?;
            runtime()?.block_on(user::run(config, command))
        }
        Some(Command::Client(command)) => {
            let config = cli.tool_config()?;
            runtime()?.block_on(client::run(config, command))
        }
        Some(Command::Key(command)) => {
            let config = cli.tool_config()?;
            Ok(runtime()?.block_on(key::run(&config, command))?)
        }
        Some(Command::CheckConfig) => runtime()?.block_on(check::run(cli.figment())),
        Some(Command::Request(args)) => {
            let config = cli.tool_config()?;
            let key_file = cli.overrides.key_file.as_deref();
            runtime()?.block_on(request::run(&config, key_file, args))
        }
    }
}
