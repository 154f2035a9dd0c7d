//! Test support: a real gateway on a free port in front of the project's mock
//! provider, configured with one model per fault the mock can inject.
// Each test crate uses a different part of this module.
#![allow(dead_code)]
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test support: a failed setup must stop the test"
)]

use std::net::SocketAddr;

use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use gateway::mock_provider::{self, RunningMock};
use gateway::server::{self, RunningGateway};

pub struct TestGateway {
    pub gateway: RunningGateway,
    pub mock: RunningMock,
    /// A key that may use every model.
    pub key: String,
    /// A key limited to `mock-chat`.
    pub limited_key: String,
    pub client: reqwest::Client,
}

/// Models configured by [`config_text`], with the mock behaviour each maps to.
pub const MODELS: &[(&str, &str, &str)] = &[
    ("mock-chat", "mock", "mock"),
    ("mock-embed", "mock", "mock-embed"),
    ("fail-500", "mock", "mock+status=500"),
    ("fail-429", "mock", "mock+status=429"),
    ("slow-headers", "mock", "mock+delay_ms=3000"),
    ("cut-stream", "mock", "mock+cut_after=3"),
    ("silent-stream", "mock", "mock+silent=1"),
    ("slow-chunks", "mock", "mock+chunk_delay_ms=200+words=50"),
    ("short-chunks", "mock", "mock+chunk_delay_ms=50+words=10"),
    ("refused", "closed", "mock"),
    ("no-key", "keyless", "mock"),
];

pub fn config_text(mock: SocketAddr, key: &str, limited_key: &str, extra: &str) -> String {
    let closed = closed_port();
    let mut text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
max_body_bytes = 1048576
shutdown_grace_ms = 5000

[[providers]]
name = "mock"
base_url = "http://{mock}/v1"
api_key_env = "TEST_MOCK_PROVIDER_KEY"
headers = {{ "x-extra" = "configured" }}
first_byte_timeout_ms = 1000
idle_timeout_ms = 500

[[providers]]
name = "closed"
base_url = "http://127.0.0.1:{closed}/v1"
connect_timeout_ms = 500

[[providers]]
name = "keyless"
base_url = "http://{mock}/v1"
api_key_env = "TEST_UNSET_PROVIDER_KEY"
"#
    );
    for (name, provider, upstream) in MODELS {
        let endpoint = if name.contains("embed") {
            "embeddings"
        } else {
            "chat"
        };
        text.push_str(&format!(
            "\n[[models]]\nname = \"{name}\"\nprovider = \"{provider}\"\nupstream_model = \"{upstream}\"\nendpoint = \"{endpoint}\"\n"
        ));
    }
    text.push_str(&format!(
        "\n[[keys]]\nid = \"test-all\"\nhash = \"{}\"\ntenant = \"acme\"\nteam = \"platform\"\n",
        KeyHash::of(key)
    ));
    text.push_str(&format!(
        "\n[[keys]]\nid = \"test-limited\"\nhash = \"{}\"\ntenant = \"acme\"\nmodels = [\"mock-chat\"]\n",
        KeyHash::of(limited_key)
    ));
    text.push_str(extra);
    text.push_str(&analytics_toml());
    text
}

/// An `[analytics]` section whose embedded store and spill file live in a fresh
/// temporary directory, so tests never write into the working tree.
pub fn analytics_toml() -> String {
    let dir = std::env::temp_dir().join(format!("gateway-test-{}", keys::mint().expect("key")));
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!(
        "\n[analytics]\nsqlite_path = \"{}\"\nspill_path = \"{}\"\nflush_interval_ms = 20\n",
        dir.join("events.sqlite").display(),
        dir.join("events.spill").display()
    )
}

/// A port on which nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

pub async fn start() -> TestGateway {
    start_with("").await
}

/// Starts the mock and a gateway whose config has `extra` TOML appended.
pub async fn start_with(extra: &str) -> TestGateway {
    start_with_env(extra, &[]).await
}

/// [`start_with`], with `env` as the process environment the config sees:
/// `GATEWAY__...` overrides (e.g. of `[server]` keys) and variables it names.
pub async fn start_with_env(extra: &str, env: &[(&str, &str)]) -> TestGateway {
    let mock = mock_provider::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("mock starts");
    let key = keys::mint().expect("key");
    let limited_key = keys::mint().expect("key");
    let text = config_text(mock.addr, &key, &limited_key, extra);
    let vars = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let config = Config::from_toml(&text, vars, |name| {
        if name == "TEST_MOCK_PROVIDER_KEY" {
            return Some("sk-provider-secret".to_owned());
        }
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("test config is valid");
    let gateway = server::start(&config).await.expect("gateway starts");
    TestGateway {
        gateway,
        mock,
        key,
        limited_key,
        client: reqwest::Client::new(),
    }
}

/// [`start_with`], with `analytics` TOML lines added to the `[analytics]`
/// section (a `database_url`, retention days, ...).
pub async fn start_with_analytics(extra: &str, analytics: &str) -> TestGateway {
    let mock = mock_provider::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("mock starts");
    let key = keys::mint().expect("key");
    let limited_key = keys::mint().expect("key");
    let text = config_text(mock.addr, &key, &limited_key, extra)
        .replace("\n[analytics]\n", &format!("\n[analytics]\n{analytics}\n"));
    let config = Config::from_toml(&text, Vec::new(), |_| None).expect("test config is valid");
    let gateway = server::start(&config).await.expect("gateway starts");
    TestGateway {
        gateway,
        mock,
        key,
        limited_key,
        client: reqwest::Client::new(),
    }
}

impl TestGateway {
    /// Sends `method path` with `key` (and a JSON body); the status and the
    /// answer as JSON (as a JSON string when it is not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = method.parse().expect("a method");
        let mut request = self.client.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let answer = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, answer)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr)
    }

    pub fn base_url(&self) -> String {
        self.url("/v1")
    }

    /// POSTs JSON to `path` with the all-models key.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .expect("request is sent")
    }
}

pub fn chat_body(model: &str) -> serde_json::Value {
    serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "Say hello"}]
    })
}

/// Asserts every field of `answer` is a property of `schema` in the OpenAPI
/// `document`.
pub fn assert_documented(document: &serde_json::Value, answer: &serde_json::Value, schema: &str) {
    let properties = document["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema} has no properties"));
    let fields = answer
        .as_object()
        .unwrap_or_else(|| panic!("{schema}: not an object: {answer}"));
    for field in fields.keys() {
        assert!(
            properties.contains_key(field),
            "`{field}` of {schema} is not documented"
        );
    }
}

/// Asserts the OpenAI error shape and returns the error object.
pub fn assert_openai_error(body: &serde_json::Value) -> &serde_json::Value {
    let error = body
        .get("error")
        .unwrap_or_else(|| panic!("no error object: {body}"));
    assert!(error["message"].is_string(), "message: {body}");
    assert!(error["type"].is_string(), "type: {body}");
    assert!(error.get("param").is_some(), "param: {body}");
    assert!(error.get("code").is_some(), "code: {body}");
    error
}

/// Splits an SSE body into its `data:` payloads.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| {
            event
                .lines()
                .find_map(|line| {
                    line.strip_prefix("data: ")
                        .or_else(|| line.strip_prefix("data:"))
                })
                .map(str::to_owned)
        })
        .collect()
}
