//! The routing table: every model the gateway can reach, one [`Deployment`] per
//! (configured provider, model). Built once per config from the catalog (each
//! provider serves its catalog provider's models under their ids and aliases)
//! plus the config's explicit `[[models]]`, which add names and unpriced models.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderValue;
use pricing::{Catalog, FixedRate, Kind, ModelEntry, Rate};

use crate::config::{Endpoint, ModelConfig, ProviderConfig};
use crate::metrics::UpstreamLabels;
use crate::openai::request::json_string;

/// One model at one configured provider.
#[derive(Debug)]
pub struct Deployment {
    /// Position in [`RoutingTable::deployments`].
    pub index: usize,
    /// Index into the config's providers.
    pub provider: usize,
    pub provider_name: Arc<String>,
    /// The name clients use (a catalog id, or a config model name).
    pub name: Arc<String>,
    pub aliases: Vec<String>,
    /// The provider's model id, and the same as a JSON string literal.
    pub upstream_model: String,
    pub upstream_model_json: String,
    pub endpoint: Endpoint,
    /// Limits, capabilities and tier; `None` for a config model the catalog does
    /// not know: reachable by its own name only, never a substitute.
    pub entry: Option<Arc<ModelEntry>>,
    /// What it is billed at: the entry's list prices, or the config's explicit
    /// `price`. `None`: unpriced (its cost is unknown, so it claims no savings).
    pub rate: Option<Rate>,
    /// The config's explicit `baseline`: what requests served by this model as
    /// asked are compared against. `None`: their own cost.
    pub baseline: Option<Rate>,
    pub labels: UpstreamLabels,
    pub provider_header: Option<HeaderValue>,
    pub model_header: Option<HeaderValue>,
}

impl Deployment {
    /// Adds the headers that tell the client where its request went.
    pub fn explain(&self, headers: &mut axum::http::HeaderMap) {
        if let Some(provider) = &self.provider_header {
            headers.insert("x-gateway-provider", provider.clone());
        }
        if let Some(model) = &self.model_header {
            headers.insert("x-gateway-model", model.clone());
        }
    }

    /// Whether `name` names this deployment: its name, an alias, its upstream id,
    /// or `provider/name`.
    pub fn answers_to(&self, name: &str) -> bool {
        *self.name == name
            || self.aliases.iter().any(|a| a == name)
            || self.upstream_model == name
            || name
                .strip_prefix(self.provider_name.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| *self.name == rest)
    }

    pub fn tier(&self) -> Option<u8> {
        self.entry.as_ref().map(|e| e.tier)
    }
}

#[derive(Debug, Default)]
pub struct RoutingTable {
    deployments: Vec<Deployment>,
    by_name: HashMap<String, Vec<usize>>,
}

/// A config model whose `price_as` or `baseline` names no catalog entry.
#[derive(Debug, thiserror::Error)]
#[error("config key `{path}`: {message}")]
pub struct TableError {
    pub path: String,
    pub message: String,
}

fn endpoint_of(kind: Kind) -> Endpoint {
    match kind {
        Kind::Chat => Endpoint::Chat,
        Kind::Embedding => Endpoint::Embeddings,
    }
}

/// The catalog entry `reference` (`provider/id`) names, for `models[i].<key>`.
fn catalog_entry(
    catalog: &Catalog,
    reference: &str,
    i: usize,
    key: &str,
) -> Result<Arc<ModelEntry>, TableError> {
    let (catalog_provider, id) = reference.split_once('/').unwrap_or(("", reference));
    catalog
        .get(catalog_provider, id)
        .map(|entry| Arc::new(entry.clone()))
        .ok_or_else(|| TableError {
            path: format!("models[{i}].{key}"),
            message: format!("`{reference}` is not in the catalog (expected provider/id)"),
        })
}

impl RoutingTable {
    pub fn build(
        providers: &[ProviderConfig],
        models: &[ModelConfig],
        catalog: &Catalog,
    ) -> Result<RoutingTable, TableError> {
        struct Draft {
            provider: usize,
            name: String,
            aliases: Vec<String>,
            upstream_model: String,
            endpoint: Endpoint,
            entry: Option<Arc<ModelEntry>>,
            rate: Option<Rate>,
            baseline: Option<Rate>,
        }
        let mut drafts: Vec<Draft> = Vec::new();
        for (p, provider) in providers.iter().enumerate() {
            for entry in catalog
                .entries()
                .iter()
                .filter(|e| e.provider == provider.catalog)
            {
                let shared = Arc::new(entry.clone());
                drafts.push(Draft {
                    provider: p,
                    name: entry.id.clone(),
                    aliases: entry.aliases.clone(),
                    upstream_model: entry.id.clone(),
                    endpoint: endpoint_of(entry.kind),
                    rate: Some(Rate::Catalog(shared.clone())),
                    entry: Some(shared),
                    baseline: None,
                });
            }
        }
        for (i, model) in models.iter().enumerate() {
            let provider = &providers[model.provider];
            let entry = match &model.price_as {
                Some(reference) => Some(catalog_entry(catalog, reference, i, "price_as")?),
                None => catalog
                    .get(&provider.catalog, &model.upstream_model)
                    .map(|e| Arc::new(e.clone())),
            };
            let rate = match model.price {
                Some(price) => Some(Rate::Fixed(Arc::new(FixedRate::new(
                    format!("{}/{}", provider.name, model.name),
                    price.input,
                    price.output,
                    price.cached_input,
                )))),
                None => entry.clone().map(Rate::Catalog),
            };
            let baseline = match &model.baseline {
                Some(reference) => Some(Rate::Catalog(catalog_entry(
                    catalog, reference, i, "baseline",
                )?)),
                None => None,
            };
            // An explicit model replaces the catalog deployment of the same name there.
            drafts.retain(|d| !(d.provider == model.provider && d.name == model.name));
            drafts.push(Draft {
                provider: model.provider,
                name: model.name.clone(),
                aliases: Vec::new(),
                upstream_model: model.upstream_model.clone(),
                endpoint: model.endpoint,
                entry,
                rate,
                baseline,
            });
        }
        let mut table = RoutingTable::default();
        for (index, draft) in drafts.into_iter().enumerate() {
            let provider_name = Arc::new(providers[draft.provider].name.clone());
            let name = Arc::new(draft.name);
            for key in
                std::iter::once(name.as_str()).chain(draft.aliases.iter().map(String::as_str))
            {
                table.by_name.entry(key.to_owned()).or_default().push(index);
            }
            table.deployments.push(Deployment {
                index,
                provider: draft.provider,
                provider_header: HeaderValue::from_str(&provider_name).ok(),
                model_header: HeaderValue::from_str(&draft.upstream_model).ok(),
                labels: UpstreamLabels {
                    provider: provider_name.clone(),
                    model: name.clone(),
                },
                provider_name,
                name,
                aliases: draft.aliases,
                upstream_model_json: json_string(&draft.upstream_model),
                upstream_model: draft.upstream_model,
                endpoint: draft.endpoint,
                entry: draft.entry,
                rate: draft.rate,
                baseline: draft.baseline,
            });
        }
        Ok(table)
    }

    pub fn deployments(&self) -> &[Deployment] {
        &self.deployments
    }

    pub fn get(&self, index: usize) -> &Deployment {
        &self.deployments[index]
    }

    /// Deployments that answer to `name` (its id or an alias).
    pub fn named(&self, name: &str) -> &[usize] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether `name` is a model this gateway knows: a deployment's id or alias,
    /// or a virtual name (`auto`, ...). Only such names are recorded as the
    /// requested model; anything else a client sends is `(unknown)`.
    pub(crate) fn knows(&self, name: &str) -> bool {
        self.by_name.contains_key(name) || super::virtual_models::virtual_model(name).is_some()
    }

    /// Client-facing names in table order, each once.
    pub fn names(&self) -> Vec<(&str, &Deployment)> {
        let mut seen = std::collections::HashSet::new();
        self.deployments
            .iter()
            .filter(|d| seen.insert(d.name.as_str()))
            .map(|d| (d.name.as_str(), d))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use pricing::{Date, Price, Rate};

    use super::*;
    use crate::config::Config;

    fn build(models: &str) -> Result<RoutingTable, TableError> {
        let text = format!(
            "[[providers]]\nname = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n\
             [[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:1/v1\"\n{models}"
        );
        let config = Config::from_toml(&text, Vec::new(), |_| None).unwrap();
        RoutingTable::build(&config.providers, &config.models, &config.catalog)
    }

    fn quote(table: &RoutingTable, name: &str) -> Option<String> {
        let deployment = table.get(table.named(name)[0]);
        let day = Date::parse("2026-12-01").unwrap();
        deployment
            .rate
            .as_ref()
            .and_then(|r| r.quote(day))
            .map(|q| q.to_string())
    }

    #[test]
    fn rates_come_from_the_catalog_the_config_or_nowhere() {
        let table = build(
            "[[models]]\nname = \"llama-local\"\nprovider = \"local\"\n\
             [[models]]\nname = \"llama-priced\"\nprovider = \"local\"\nprice = { input = \"0.2\", output = \"0.6\" }\n\
             [[models]]\nname = \"llama-like-4o\"\nprovider = \"local\"\nprice_as = \"openai/gpt-4o\"\n\
             [[models]]\nname = \"llama-free-4o\"\nprovider = \"local\"\nprice_as = \"openai/gpt-4o\"\nprice = { input = \"0\", output = \"0\" }\nbaseline = \"openai/gpt-4o\"\n",
        )
        .unwrap();
        let named = |name: &str| table.get(table.named(name)[0]);
        assert_eq!(
            quote(&table, "gpt-4o").as_deref(),
            Some("openai/gpt-4o@2026-11-25")
        );
        assert!(named("llama-local").rate.is_none() && named("llama-local").entry.is_none());
        assert_eq!(
            quote(&table, "llama-priced").as_deref(),
            Some("local/llama-priced@config")
        );
        assert_eq!(
            named("llama-priced").tier(),
            None,
            "no limits, no tier: never a substitute"
        );
        assert_eq!(
            quote(&table, "llama-like-4o").as_deref(),
            Some("openai/gpt-4o@2026-11-25")
        );
        let free = named("llama-free-4o");
        assert_eq!(
            quote(&table, "llama-free-4o").as_deref(),
            Some("local/llama-free-4o@config")
        );
        assert_eq!(free.tier(), Some(4), "price_as still gives limits and tier");
        assert!(matches!(&free.rate, Some(Rate::Fixed(f)) if f.prices.input == Price(0)));
        assert!(matches!(&free.baseline, Some(Rate::Catalog(e)) if e.id == "gpt-4o"));
        assert!(named("gpt-4o").baseline.is_none());
    }

    #[test]
    fn an_unknown_baseline_names_its_key() {
        let error =
            build("[[models]]\nname = \"m\"\nprovider = \"local\"\nbaseline = \"openai/gpt-9\"\n")
                .unwrap_err();
        assert_eq!(error.path, "models[0].baseline");
        assert!(error.message.contains("openai/gpt-9"), "{error}");
    }

    #[test]
    fn only_names_the_gateway_serves_are_known() {
        let table = build("[[models]]\nname = \"llama-local\"\nprovider = \"local\"\n").unwrap();
        let cases = [
            ("gpt-4o", true),
            ("llama-local", true),
            ("auto", true),
            ("auto:fast", true),
            // A catalog model of a provider that is not configured.
            ("claude-sonnet-4-6", false),
            ("GPT-4o", false),
            ("", false),
            ("made-up-model", false),
        ];
        for (name, known) in cases {
            assert_eq!(table.knows(name), known, "{name}");
        }
    }
}
