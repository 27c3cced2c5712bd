//! The `authnzd` command: `serve` (the default) and the operator's
//! commands, all in `cli`.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod cli;

use std::process::ExitCode;

/// mimalloc: per-thread free lists make the many small allocations of a
/// request (hyper, JSON, Fernet) cheaper than glibc's malloc (BENCHMARKS.md
/// has the figures), and it hands argon2's 19 MiB blocks back to the system
/// after each hash.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run()
}
