//! What `gateway check-config` (and `serve`, when it starts) warns about: settings
//! that load fine but quietly cost the operator something. Warnings never stop
//! the gateway or change the exit code; what cannot work is an error instead
//! (`config::validate`, `state::Snapshot::new`).
//!
//! - A configured model without a price: its requests are unpriced (recorded
//!   with no cost and no savings), which is right for a model nobody priced but
//!   rarely what the operator meant.
//! - A provider that serves no model at all: usually a catalog provider name
//!   spelled the vendor's way (`together` for the catalog's `together_ai`).
//! - A Postgres store with no shared secret for `user` tags: each machine then
//!   generates its own, and one user gets a different tag on each.

use std::collections::BTreeSet;
use std::fmt;

use crate::config::{Config, EventStoreConfig, MissingKey, ProviderKey, UserTagSecret};
use crate::routing::RoutingTable;

/// One warning, naming the config key it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config key `{}`: {}", self.path, self.message)
    }
}

/// Providers without a usable API key, with what brings it back: a variable of
/// the environment is read at start only (a restart), a key file on every
/// reload (SIGHUP). `serve` logs these at start and after each reload;
/// `check-config` does not, as it often runs where the keys are not.
pub fn missing_keys(config: &Config) -> Vec<Warning> {
    config
        .providers
        .iter()
        .enumerate()
        .filter_map(|(i, provider)| {
            let ProviderKey::Missing(missing) = &provider.api_key else {
                return None;
            };
            let (key, remedy) = match missing {
                MissingKey::Env { .. } => (
                    "api_key_env",
                    "until the gateway is restarted with it set (a running process never \
                     sees new environment variables; `api_key_file` is re-read on SIGHUP)",
                ),
                MissingKey::File { .. } => (
                    "api_key_file",
                    "until the file holds the key and the config is reloaded (SIGHUP)",
                ),
            };
            Some(Warning {
                path: format!("providers[{i}].{key}"),
                message: format!(
                    "provider `{}` is skipped: {}. Its models fail over elsewhere or get 503, {remedy}.",
                    provider.name,
                    missing.reason()
                ),
            })
        })
        .collect()
}

/// Every warning for `config`, whose routing table is `table`, in config order.
pub fn warnings(config: &Config, table: &RoutingTable) -> Vec<Warning> {
    let mut out = Vec::new();
    let deployments = table.deployments();
    for (i, provider) in config.providers.iter().enumerate() {
        if deployments.iter().any(|d| d.provider == i) {
            continue;
        }
        let catalog: BTreeSet<&str> = config
            .catalog
            .entries()
            .iter()
            .map(|e| e.provider.as_str())
            .collect();
        let wanted = provider.catalog.to_ascii_lowercase();
        let close: Vec<String> = catalog
            .iter()
            .filter(|name| name.starts_with(&wanted) || wanted.starts_with(*name))
            .map(|name| format!("`{name}`"))
            .collect();
        let hint = match close.as_slice() {
            [] => String::new(),
            names => format!(" (did you mean catalog = {}?)", names.join(" or ")),
        };
        out.push(Warning {
            path: format!("providers[{i}]"),
            message: format!(
                "provider `{}` serves no model: its catalog provider `{}` is not in the catalog{hint} \
                 and no [[models]] entry uses it. Catalog providers: {}.",
                provider.name,
                provider.catalog,
                catalog.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    for (i, model) in config.models.iter().enumerate() {
        let unpriced = deployments
            .iter()
            .find(|d| d.provider == model.provider && *d.name == model.name)
            .is_some_and(|d| d.rate.is_none());
        if unpriced {
            out.push(Warning {
                path: format!("models[{i}]"),
                message: format!(
                    "model `{}` at provider `{}` has no price: its requests are recorded as \
                     unpriced, with no cost and no savings. Give it `price = {{ input = \"...\", \
                     output = \"...\" }}` (USD per million tokens; \"0\" for a self-hosted model) \
                     or `price_as = \"provider/id\"`.",
                    model.name, config.providers[model.provider].name
                ),
            });
        }
    }
    if let (
        EventStoreConfig::Postgres { .. },
        UserTagSecret::File {
            path,
            configured: false,
        },
    ) = (&config.analytics.store, &config.analytics.user_tag_secret)
    {
        out.push(Warning {
            path: "analytics.user_tag_secret_env".to_owned(),
            message: format!(
                "not set, with a Postgres store: `user` tags are keyed with a secret generated \
                 on this machine ({}), so every gateway sharing the database tags the same user \
                 differently, and a lost file changes every tag. Name a variable holding one \
                 secret shared by every gateway (`openssl rand -hex 32`), or point \
                 `analytics.user_tag_secret_file` at a shared file.",
                path.display()
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings_of(text: &str) -> Vec<Warning> {
        let config = Config::from_toml(text, Vec::new(), |_| None).unwrap();
        let table =
            RoutingTable::build(&config.providers, &config.models, &config.catalog).unwrap();
        warnings(&config, &table)
    }

    #[test]
    fn unpriced_models_and_idle_providers_are_named() {
        let text = r#"
[[providers]]
name = "openai"
base_url = "http://127.0.0.1:1/v1"

[[providers]]
name = "together"
base_url = "http://127.0.0.1:1/v1"

[[providers]]
name = "local"
base_url = "http://127.0.0.1:1/v1"

[[providers]]
name = "idle-local"
base_url = "http://127.0.0.1:1/v1"

[[models]]
name = "llama-local"
provider = "local"

[[models]]
name = "llama-priced"
provider = "local"
price = { input = "0", output = "0" }

[[models]]
name = "my-4o"
provider = "openai"
upstream_model = "gpt-4o"
"#;
        let found = warnings_of(text);
        let paths: Vec<&str> = found.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(paths, ["providers[1]", "providers[3]", "models[0]"]);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert!(
            text[0].contains("`together` serves no model")
                && text[0].contains("did you mean catalog = `together_ai`?")
                && text[0].contains("Catalog providers: anthropic, ")
                && text[0].contains(", openai, together_ai."),
            "{}",
            text[0]
        );
        assert!(
            text[1].contains("`idle-local` serves no model") && !text[1].contains("did you mean"),
            "{}",
            text[1]
        );
        assert!(
            text[2].starts_with(
                "config key `models[0]`: model `llama-local` at provider `local` has no price"
            ),
            "{}",
            text[2]
        );
    }

    #[test]
    fn a_fully_priced_config_has_no_warnings() {
        let text = r#"
[[providers]]
name = "openai"
base_url = "http://127.0.0.1:1/v1"

[[providers]]
name = "tog"
catalog = "together_ai"
base_url = "http://127.0.0.1:1/v1"

[[models]]
name = "local-embed"
provider = "openai"
endpoint = "embeddings"
price_as = "openai/text-embedding-3-small"
"#;
        assert_eq!(warnings_of(text), []);
    }

    #[test]
    fn postgres_without_a_shared_user_tag_secret_is_named() {
        let base = "[analytics]\ndatabase_url = \"postgres://gateway@127.0.0.1/gateway\"\n";
        let found = warnings_of(base);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "analytics.user_tag_secret_env");
        assert!(
            found[0].message.contains("gateway-user-tag.key"),
            "{}",
            found[0]
        );
        // A shared file, or the embedded store (one machine), is no warning.
        let shared = format!("{base}user_tag_secret_file = \"/run/secrets/user-tag\"\n");
        assert_eq!(warnings_of(&shared), []);
        assert_eq!(warnings_of("[analytics]\n"), []);
    }

    #[test]
    fn providers_without_a_key_say_what_brings_it_back() {
        let dir =
            std::env::temp_dir().join(format!("gateway-checks-{}", crate::keys::mint().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("empty.key"), "\n").unwrap();
        std::fs::write(dir.join("good.key"), "sk-good\n").unwrap();
        let text = r#"
[[providers]]
name = "from-env"
base_url = "http://127.0.0.1:1/v1"
api_key_env = "GATEWAY_TEST_SURELY_UNSET_KEY"

[[providers]]
name = "no-file"
base_url = "http://127.0.0.1:1/v1"
api_key_file = "absent.key"

[[providers]]
name = "empty-file"
base_url = "http://127.0.0.1:1/v1"
api_key_file = "empty.key"

[[providers]]
name = "good-file"
base_url = "http://127.0.0.1:1/v1"
api_key_file = "good.key"

[[providers]]
name = "keyless"
base_url = "http://127.0.0.1:1/v1"
"#;
        let path = dir.join("gateway.toml");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        let found = missing_keys(&config);
        let paths: Vec<&str> = found.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "providers[0].api_key_env",
                "providers[1].api_key_file",
                "providers[2].api_key_file"
            ]
        );
        assert!(found[0]
            .message
            .contains("GATEWAY_TEST_SURELY_UNSET_KEY is not set"));
        assert!(found[0].message.contains("restarted"), "{}", found[0]);
        assert!(!found[0].message.contains("reloaded"), "{}", found[0]);
        assert!(
            found[1].message.contains("absent.key cannot be read"),
            "{}",
            found[1]
        );
        assert!(
            found[1].message.contains("reloaded (SIGHUP)"),
            "{}",
            found[1]
        );
        assert!(
            found[2].message.contains("empty.key is empty"),
            "{}",
            found[2]
        );
        let ProviderKey::Present(key) = &config.providers[3].api_key else {
            panic!("{:?}", config.providers[3].api_key)
        };
        assert_eq!(key.expose(), "sk-good");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
