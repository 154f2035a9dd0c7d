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

use std::collections::BTreeSet;
use std::fmt;

use crate::config::Config;
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
}
