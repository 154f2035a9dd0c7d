//! Shared state handed to every handler: the config-derived snapshot (keys, model
//! routes, provider clients) and process-wide parts (metrics, shutdown flag).
//! A snapshot is built whole from a validated config, so a request always sees
//! one consistent view.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderValue;

use crate::config::{Config, Endpoint};
use crate::error::GatewayError;
use crate::keys::{ApiKey, KeyStore};
use crate::metrics::{Metrics, UpstreamLabels};
use crate::openai::request::json_string;
use crate::providers::openai_compat::BuildError;
use crate::providers::{Adapter, Provider};

/// A client-facing model name and where it is served.
pub struct ModelRoute {
    pub name: Arc<String>,
    pub provider: usize,
    pub upstream_model: String,
    /// `upstream_model` as a JSON string literal, ready to splice into a body.
    pub upstream_model_json: String,
    pub endpoint: Endpoint,
    pub labels: UpstreamLabels,
    /// Pre-built `x-gateway-provider` / `x-gateway-model` values (`None` if the
    /// names are not valid header text).
    pub provider_header: Option<HeaderValue>,
    pub model_header: Option<HeaderValue>,
}

pub struct Snapshot {
    pub keys: KeyStore,
    /// In config order, for `/v1/models`.
    pub models: Vec<ModelRoute>,
    by_name: HashMap<String, usize>,
    pub providers: Vec<Provider>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Unix seconds at load, reported as the models' `created`.
    pub loaded_at: u64,
}

impl Snapshot {
    pub fn new(config: &Config) -> Result<Snapshot, BuildError> {
        let providers = config
            .providers
            .iter()
            .map(Provider::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        let models: Vec<ModelRoute> = config
            .models
            .iter()
            .map(|m| {
                let provider = providers[m.provider].name().clone();
                let name = Arc::new(m.name.clone());
                ModelRoute {
                    provider_header: HeaderValue::from_str(&provider).ok(),
                    model_header: HeaderValue::from_str(&m.upstream_model).ok(),
                    labels: UpstreamLabels {
                        provider,
                        model: name.clone(),
                    },
                    name,
                    provider: m.provider,
                    upstream_model_json: json_string(&m.upstream_model),
                    upstream_model: m.upstream_model.clone(),
                    endpoint: m.endpoint,
                }
            })
            .collect();
        let by_name = models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.to_string(), i))
            .collect();
        Ok(Snapshot {
            keys: KeyStore::new(&config.keys),
            models,
            by_name,
            providers,
            max_body_bytes: config.server.max_body_bytes,
            request_timeout: config.server.request_timeout,
            loaded_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        })
    }

    /// The route for `model` if `key` may use it on `endpoint`. A model the key may
    /// not use answers exactly like one that does not exist.
    pub fn route(
        &self,
        key: &ApiKey,
        model: &str,
        endpoint: Endpoint,
    ) -> Result<&ModelRoute, GatewayError> {
        let route = self
            .by_name
            .get(model)
            .map(|&i| &self.models[i])
            .filter(|_| key.models.allows(model))
            .ok_or_else(|| GatewayError::ModelNotFound(model.to_owned()))?;
        if route.endpoint != endpoint {
            return Err(GatewayError::WrongEndpoint {
                model: model.to_owned(),
                endpoint: match endpoint {
                    Endpoint::Chat => "chat completions",
                    Endpoint::Embeddings => "embeddings",
                },
            });
        }
        Ok(route)
    }
}

pub struct Inner {
    pub snapshot: Snapshot,
    pub metrics: Metrics,
    shutting_down: AtomicBool,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(config: &Config) -> Result<AppState, BuildError> {
        Ok(AppState(Arc::new(Inner {
            snapshot: Snapshot::new(config)?,
            metrics: Metrics::new(),
            shutting_down: AtomicBool::new(false),
        })))
    }

    pub fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::Relaxed);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.0.shutting_down.load(Ordering::Relaxed)
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
