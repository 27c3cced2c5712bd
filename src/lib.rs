//! authnzd: an authentication and authorization server speaking
//! authnzerver's encrypted RPC protocol.
//!
//! `Server::start(config)` is what the binary and the integration tests run.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod actions;
pub mod app;
pub mod cache;
pub mod catalogue;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod crypto;
pub mod envelope;
pub mod event;
pub mod http;
pub mod import;
pub mod instances;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod params;
pub mod pii;
pub mod policy;
pub mod rpc;
pub mod secret;
pub mod security;
pub mod server;
pub mod setup;
pub mod store;
pub mod timefmt;
pub mod tls;
pub mod views;
pub mod waits;

pub use server::{Opened, Running, Server, StartError, StartReport, open};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
