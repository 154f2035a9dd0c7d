//! Command-line interface. Each subcommand is a thin shell over a library
//! function so tests call the same code.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gateway",
    version,
    about = "OpenAI-compatible LLM routing gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the OpenAI-compatible API.
    Serve {
        /// Config file (TOML). `GATEWAY__SECTION__KEY` variables override its values.
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Check a config file and exit: 0 when valid, 1 with the key at fault otherwise.
    CheckConfig {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Create or update the analytics schema (also done at every start).
    Migrate {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Roll usage events up into daily, weekly and monthly aggregates for a
    /// range of days (idempotent; the gateway also does this on a schedule).
    Rollup {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
        /// First day, YYYY-MM-DD (UTC).
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day, YYYY-MM-DD (UTC), included.
        #[arg(long)]
        to: chrono::NaiveDate,
    },
    /// Manage client API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run a simulated OpenAI-compatible provider (for trying the gateway offline,
    /// tests and benchmarks). Never use it as a real provider.
    MockProvider {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Mint a new key; prints the key once and the `[[keys]]` entry for the config.
    Create {
        #[arg(long)]
        tenant: String,
        /// Key id shown in logs and analytics (default: derived from the hash).
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        team: Option<String>,
    },
    /// Print the config hash of an existing key read from standard input.
    Hash,
}
