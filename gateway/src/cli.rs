//! Command-line interface. Each subcommand is a thin shell over a library
//! function so tests call the same code.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Create or update the analytics schema, as the tables' owner (at start
    /// the gateway migrates only when it has the owner's URL or a single URL),
    /// and optionally make the least-privilege Postgres logins it serves with.
    Migrate {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
        /// Postgres URL of the tables' owner (default: analytics.owner_database_url
        /// or DATABASE_OWNER_URL, else the serving URL).
        #[arg(long)]
        owner_url: Option<String>,
        /// Make this login role the serving login (events, rollups): created
        /// (LOGIN, no password) when missing, granted gateway_writer.
        #[arg(long)]
        writer_role: Option<String>,
        /// Make this login role the tenant reader: created (LOGIN, no password)
        /// when missing, granted gateway_reader.
        #[arg(long)]
        reader_role: Option<String>,
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
    /// Alert channels: send a test alert.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Scheduled reports: send one now.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
    /// Run the gateway with simulated providers and synthetic traffic, so the
    /// savings dashboard fills within a minute without any provider key or network.
    Demo {
        /// Address to serve on (port 0: any free port; the banner shows the one taken).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the embedded store goes (default: a new temporary directory).
        /// Reusing one keeps its history and fills only the time since.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Days of history to generate.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=400))]
        days: u32,
        /// Live requests per second after the history (0: none).
        #[arg(long, default_value_t = 0.5)]
        rate: f64,
    },
    /// ROI worksheet as JSON: from given monthly costs (`--current`, `--optimized`),
    /// from a traffic profile routed by the catalog and policy (`--model` ...), or
    /// from a tenant's recorded traffic (`--measured`).
    Roi(RoiArgs),
    /// Run a simulated OpenAI-compatible provider (for trying the gateway offline,
    /// tests and benchmarks). Never use it as a real provider.
    MockProvider {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Mint a new key; prints it once. With a config file (`--config` or
    /// GATEWAY_CONFIG) the key goes into that config's store and works at once
    /// on every replica; without one, the `[[keys]]` entry to paste is printed.
    Create {
        #[arg(long)]
        tenant: String,
        /// Key id shown in logs and analytics (default: a random `key_...`).
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// Config file whose store keeps the key.
        #[arg(long, short, env = "GATEWAY_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: StoredKeySettings,
    },
    /// List the keys of the config's store and file (never a key or a hash).
    List {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
        /// Show revoked keys too.
        #[arg(long)]
        include_revoked: bool,
    },
    /// Revoke a stored key: every replica refuses it within a second.
    Revoke {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
        /// The key's id (see `gateway keys list`).
        id: String,
    },
    /// Mint a key replacing a stored one, with the same settings; the old key
    /// keeps working for the grace period. Prints the new key once.
    Rotate {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
        id: String,
        /// How long the old key keeps working, seconds (at most 30 days).
        #[arg(long, default_value_t = 86_400)]
        grace_seconds: u64,
    },
    /// Print the config hash of an existing key read from standard input.
    Hash,
}

/// What a key kept in the store may carry beyond its tenant and team.
#[derive(Debug, Default, Args)]
pub struct StoredKeySettings {
    /// `api` (default), `dashboard`, `owner` or `admin`.
    #[arg(long)]
    pub role: Option<String>,
    #[arg(long)]
    pub label: Option<String>,
    /// A model the key may use; repeat for several (default: its tenant's).
    #[arg(long = "model")]
    pub models: Vec<String>,
    #[arg(long)]
    pub rpm: Option<u32>,
    #[arg(long)]
    pub tpm: Option<u64>,
    #[arg(long)]
    pub max_concurrent: Option<u32>,
    /// USD per calendar day, decimal text (e.g. 25.00).
    #[arg(long)]
    pub budget_daily_usd: Option<String>,
    /// USD per calendar month, decimal text.
    #[arg(long)]
    pub budget_monthly_usd: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test alert to a channel of `[[alerts.channels]]` (retried like
    /// any notice, each attempt recorded in the store); prints how each
    /// attempt went. Exit status 0 when delivered, 1 otherwise.
    Test {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
        /// The channel's `name`.
        #[arg(long)]
        channel: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Send a tenant's report of one period now (a manual run, recorded in
    /// the store like "send now" in the API); prints the run and each
    /// channel's first attempt. Exit status 0 when every channel took it, 1
    /// otherwise (a failure worth retrying stays pending: a running gateway
    /// retries it).
    Send {
        #[arg(long, short, env = "GATEWAY_CONFIG", default_value = "gateway.toml")]
        config: PathBuf,
        #[arg(long)]
        tenant: String,
        /// `2026-W48` (ISO week) or `2026-11` (month), of UTC days.
        #[arg(long)]
        period: String,
        /// A channel of `[[alerts.channels]]` (repeatable); default: the
        /// tenant's schedule of that kind.
        #[arg(long = "channel")]
        channels: Vec<String>,
    },
}

/// `gateway roi`: the flags of `POST /api/v1/roi`, same JSON out.
#[derive(Debug, Args)]
pub struct RoiArgs {
    /// Config file: its providers, catalog and routing policy price a profile;
    /// its analytics store serves `--measured`. Without it, a profile is routed
    /// over every provider of the embedded catalog.
    #[arg(long, short, env = "GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Developers (seats) on the platform, 1 to 1,000,000.
    #[arg(long)]
    pub seats: u64,
    /// Platform price per seat per month, USD.
    #[arg(long)]
    pub price_per_seat: String,
    /// Current monthly LLM spend, USD (with `--optimized`).
    #[arg(long)]
    pub current: Option<String>,
    /// Optimized monthly LLM spend, USD (with `--current`).
    #[arg(long)]
    pub optimized: Option<String>,
    /// A model used today, `NAME` or `NAME=SHARE` (e.g. `gpt-4o=0.7`); repeat for several.
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// Requests each seat sends per working day.
    #[arg(long)]
    pub requests_per_seat_per_day: Option<u64>,
    #[arg(long, default_value_t = 22)]
    pub working_days: u32,
    /// Average prompt tokens per request.
    #[arg(long)]
    pub prompt_tokens: Option<u64>,
    /// Average completion tokens per request.
    #[arg(long)]
    pub completion_tokens: Option<u64>,
    /// A capability the requests use (tools, vision, json_schema, streaming); repeatable.
    #[arg(long = "capability")]
    pub capabilities: Vec<String>,
    /// `strict` or `equivalent` (default: the config's routing policy).
    #[arg(long)]
    pub policy: Option<String>,
    /// Measure a tenant's recorded traffic instead (needs `--config` and `--tenant`).
    #[arg(long)]
    pub measured: bool,
    /// The tenant measured (with `--measured`).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Days of recorded traffic, ending yesterday.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
}
