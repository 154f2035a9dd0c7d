//! What the tests send and what they read back over HTTP: the kinds of
//! request (served, failing upstream, cut mid-stream, abandoned by the client),
//! each answer as the client saw it, and the replicas' metrics.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::HeaderMap;

use super::Cluster;

impl Cluster {
    /// Sends `requests` to the replicas, at most `concurrency` in flight at once;
    /// `plan(i)` says which replica gets request `i` and how it is sent.
    pub async fn fire(
        &self,
        requests: usize,
        concurrency: usize,
        plan: impl Fn(usize) -> (usize, Kind),
    ) -> Vec<Outcome> {
        futures_util::stream::iter((0..requests).map(|i| {
            let (replica, send) = plan(i);
            self.send(replica, send)
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await
    }

    /// Sends one chat request to replica `replica`.
    pub async fn send(&self, replica: usize, send: Kind) -> Outcome {
        let started = Instant::now();
        let body = send.body();
        let response = self
            .client
            .post(self.replicas[replica].url("/v1/chat/completions"))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                return Outcome {
                    replica,
                    send,
                    status: 0,
                    headers: HeaderMap::new(),
                    body: format!("transport error: {error}"),
                    elapsed: started.elapsed(),
                }
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match send {
            // Reads the first chunk, then hangs up mid-stream.
            Kind::Disconnect if status == 200 => {
                let mut stream = response.bytes_stream();
                let first = stream.next().await;
                drop(stream);
                format!("disconnected after {first:?}")
            }
            _ => response.text().await.unwrap_or_default(),
        };
        Outcome {
            replica,
            send,
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        }
    }

    /// The sum of every sample of metric `name` (any labels) that replica
    /// `replica` exposes on `/metrics`; `None` if it exposes none.
    pub async fn metric(&self, replica: usize, name: &str) -> Option<f64> {
        let text = self
            .client
            .get(self.replicas[replica].url("/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let mut found = None;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(name) else {
                continue;
            };
            if !(rest.starts_with(' ') || rest.starts_with('{')) {
                continue;
            }
            if let Some(value) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
                *found.get_or_insert(0.0) += value;
            }
        }
        found
    }

    /// GETs `path` from replica `replica` with the cluster's key, as JSON.
    pub async fn get_json(&self, replica: usize, path: &str) -> serde_json::Value {
        self.client
            .get(self.replicas[replica].url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("request is sent")
            .json()
            .await
            .unwrap_or(serde_json::Value::Null)
    }
}

/// How one request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `priced`, not streamed: answered in full.
    Plain,
    /// `priced-fail`: the provider answers 500.
    UpstreamFails,
    /// `priced-cut` streamed: the provider cuts the stream mid-answer.
    UpstreamCuts,
    /// `priced-slow` streamed: the client reads one chunk and hangs up.
    Disconnect,
}

/// `max_tokens` of every request: it bounds what a budget reserves.
pub const MAX_TOKENS: u64 = 60;

impl Kind {
    pub fn body(self) -> serde_json::Value {
        let (model, stream) = match self {
            Kind::Plain => ("priced", false),
            Kind::UpstreamFails => ("priced-fail", false),
            Kind::UpstreamCuts => ("priced-cut", true),
            Kind::Disconnect => ("priced-slow", true),
        };
        serde_json::json!({
            "model": model,
            "stream": stream,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": "Say hello to the replicas"}]
        })
    }
}

/// One request's answer, as the client saw it.
#[derive(Debug)]
pub struct Outcome {
    pub replica: usize,
    pub send: Kind,
    /// 0: the request did not get an answer (transport error).
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The OpenAI error code of a refusal, if the body is an error object.
    pub fn error_code(&self) -> Option<String> {
        self.json()["error"]["code"].as_str().map(str::to_owned)
    }
}

/// Counts outcomes by status, for reports: `[(200, 598), (429, 1402)]`.
pub fn by_status(outcomes: &[Outcome]) -> Vec<(u16, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for outcome in outcomes {
        *counts.entry(outcome.status).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}
