//! The demo's config, generated in code: one provider per simulated vendor (each
//! a mock on its own loopback port), the tenants and keys of [`super::workload`]
//! with freshly minted keys, and an embedded store in the data directory.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::keys::{self, KeyHash};

use super::workload::{KEYS, PROVIDERS, SELF_HOSTED, TENANTS};

/// The plain demo keys by key id, minted at start and printed once.
pub struct MintedKeys(pub HashMap<&'static str, String>);

impl MintedKeys {
    pub fn mint() -> Result<MintedKeys, getrandom::Error> {
        let mut keys = HashMap::new();
        for key in KEYS {
            keys.insert(key.id, keys::mint()?);
        }
        Ok(MintedKeys(keys))
    }

    pub fn get(&self, id: &str) -> &str {
        self.0.get(id).map_or("", String::as_str)
    }
}

/// Where things go and how long history is kept.
pub struct Settings<'a> {
    pub listen: SocketAddr,
    pub data_dir: &'a Path,
    pub days: u32,
    /// `(name, address)` of each started mock, in [`PROVIDERS`] order.
    pub mocks: &'a [SocketAddr],
}

fn toml_str(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The config text; see [`config`].
pub fn config_text(settings: &Settings<'_>, keys: &MintedKeys) -> String {
    let mut text = String::new();
    let data = |file: &str| toml_str(&settings.data_dir.join(file).display().to_string());
    // Raw events must outlive the backfilled history, or housekeeping deletes it.
    let raw_days = settings.days.max(90) + 1;
    let _ = write!(
        text,
        r#"
[server]
listen = {listen}
shutdown_grace_ms = 3000
log = "warn"

[routing]
policy = "equivalent"
baseline_model = "gpt-4o"
max_attempts = 3
retry_budget_percent = 25
circuit_failures = 4
circuit_open_ms = 8000

[analytics]
sqlite_path = {sqlite}
spill_path = {spill}
flush_interval_ms = 100
rollup_interval_ms = 5000
raw_retention_days = {raw_days}
aggregate_retention_days = {aggregate_days}
"#,
        listen = toml_str(&settings.listen.to_string()),
        sqlite = data("analytics.sqlite"),
        spill = data("events.spill"),
        aggregate_days = settings.days.max(730) + 1,
    );
    for (provider, addr) in PROVIDERS.iter().zip(settings.mocks) {
        let _ = write!(
            text,
            "\n[[providers]]\nname = {}\ncatalog = {}\nbase_url = \"http://{addr}/v1\"\nfirst_byte_timeout_ms = 5000\nidle_timeout_ms = 5000\n",
            toml_str(provider.name),
            toml_str(provider.catalog),
        );
    }
    for (name, upstream) in SELF_HOSTED {
        let _ = write!(
            text,
            "\n[[models]]\nname = {}\nprovider = \"local\"\nupstream_model = {}\n",
            toml_str(name),
            toml_str(upstream),
        );
    }
    for (id, policy) in TENANTS {
        let _ = write!(
            text,
            "\n[[tenants]]\nid = {}\npolicy = {}\n",
            toml_str(id),
            toml_str(policy)
        );
    }
    for key in KEYS {
        let _ = write!(
            text,
            "\n[[keys]]\nid = {}\nhash = \"{}\"\ntenant = {}\n",
            toml_str(key.id),
            KeyHash::of(keys.get(key.id)),
            toml_str(key.tenant),
        );
        if let Some(team) = key.team {
            let _ = writeln!(text, "team = {}", toml_str(team));
        }
        if !key.settings.is_empty() {
            let _ = writeln!(text, "{}", key.settings);
        }
    }
    text
}

/// The demo's config. No environment variable applies: the demo is the same on
/// every machine.
pub fn config(settings: &Settings<'_>, keys: &MintedKeys) -> Result<Config, ConfigError> {
    Config::from_toml(&config_text(settings, keys), Vec::new(), |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_config_is_valid_and_routable() {
        let keys = MintedKeys::mint().unwrap();
        let mocks: Vec<SocketAddr> = (0..PROVIDERS.len())
            .map(|i| SocketAddr::from(([127, 0, 0, 1], 9000 + i as u16)))
            .collect();
        let dir = std::env::temp_dir();
        let settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: &dir,
            days: 30,
            mocks: &mocks,
        };
        let config = config(&settings, &keys).unwrap();
        assert_eq!(config.providers.len(), PROVIDERS.len());
        assert_eq!(config.keys.len(), KEYS.len());
        crate::state::Snapshot::new(&config).unwrap();
    }
}
