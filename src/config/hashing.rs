//! Password hashing: argon2's costs and the pool that runs the hashes.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HashingConfig {
    /// argon2 memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// argon2 iterations.
    pub argon2_iterations: u32,
    /// argon2 lanes.
    pub argon2_parallelism: u32,
    /// Concurrent password hashes (default: number of cores).
    pub hash_workers: Option<usize>,
    /// Password hashes allowed to wait for a worker before 503.
    pub hash_queue: usize,
}

impl Default for HashingConfig {
    fn default() -> Self {
        HashingConfig {
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_workers: None,
            hash_queue: 256,
        }
    }
}

impl HashingConfig {
    /// The three costs together, as argon2 accepts them.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| ConfigError::invalid("argon2_memory_kib", e.to_string()))?;
        Ok(())
    }
}
