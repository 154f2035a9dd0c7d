//! The mixed soak (`soak config --mixed`, `soak run --mixed`): the traffic of a
//! real deployment rather than one kind of request, so that every path that keeps
//! state (streams, failover, refused and failed requests, per-user tags) runs for
//! the whole soak. Which request is which is decided by its sequence number, so
//! the mix is exact at any rate; what the gateway must answer to each is decided
//! here too. Sampling, memory and the summary stay in `soak.rs`.

use bytes::Bytes;
use serde_json::Value;

/// Catalog models that a second provider (`flaky`, which always answers 500) also
/// serves, cheaper, so each request for them goes there first and fails over.
pub const FAILOVER_MODELS: [&str; 3] = ["gpt-5-mini", "gpt-5-nano", "gpt-5.4-mini"];
/// A model whose only provider answers 500: the client gets the error.
pub const BROKEN_MODEL: &str = "soak-broken";

/// What one request of the mix is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A catalog model served by the mock, answered 200.
    Plain,
    /// The same, streamed.
    Stream,
    /// A model whose cheaper provider fails: answered 200 after a failover.
    Failover { stream: bool },
    /// A model with no working provider: the client gets a 5xx.
    Broken { stream: bool },
    /// A model nobody serves: refused with 404.
    Unknown,
}

impl Kind {
    /// The kind of request number `i`: per hundred, 64 plain, 20 streamed, 10
    /// failovers and 5 upstream errors (half of each streamed), 1 unknown model.
    pub fn of(i: u64) -> Kind {
        match i % 100 {
            0..=63 => Kind::Plain,
            64..=83 => Kind::Stream,
            n @ 84..=93 => Kind::Failover { stream: n % 2 == 1 },
            n @ 94..=98 => Kind::Broken { stream: n % 2 == 1 },
            _ => Kind::Unknown,
        }
    }

    pub fn stream(self) -> bool {
        match self {
            Kind::Stream => true,
            Kind::Failover { stream } | Kind::Broken { stream } => stream,
            Kind::Plain | Kind::Unknown => false,
        }
    }

    /// The name in the soak's counters.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Stream => "stream",
            Kind::Failover { .. } => "failover",
            Kind::Broken { .. } => "upstream_error",
            Kind::Unknown => "unknown_model",
        }
    }

    /// Whether an answer with `status` (200 for a complete answer) is the one
    /// this kind of request must get.
    pub fn expects(self, status: u16) -> bool {
        match self {
            Kind::Plain | Kind::Stream | Kind::Failover { .. } => status == 200,
            Kind::Broken { .. } => (500..600).contains(&status),
            Kind::Unknown => status == 404,
        }
    }
}

/// The model a request of `kind` asks for; `pick` chooses among `plain` models
/// and the failover models.
pub fn model(kind: Kind, i: u64, plain: &[String], pick: impl Fn(usize) -> usize) -> String {
    match kind {
        Kind::Plain | Kind::Stream => plain[pick(plain.len())].clone(),
        Kind::Failover { .. } => FAILOVER_MODELS[pick(FAILOVER_MODELS.len())].to_owned(),
        Kind::Broken { .. } => BROKEN_MODEL.to_owned(),
        Kind::Unknown => format!("soak-made-up-model-{i}"),
    }
}

/// Whether a model of `GET /v1/models` is one the plain requests may use.
pub fn plain_model(id: &str) -> bool {
    !id.contains("embedding") && id != BROKEN_MODEL && !FAILOVER_MODELS.contains(&id)
}

/// `body` (a chat request) with its `user` field set.
pub fn with_user(body: &Bytes, user: &str) -> Bytes {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut value) => {
            value["user"] = Value::String(user.to_owned());
            Bytes::from(value.to_string())
        }
        Err(_) => body.clone(),
    }
}

/// The config the mixed soak adds to the plain one: the failing provider, its
/// cheaper deployments of the failover models, the broken model, and routing
/// that fails over on every failure (no open circuit, no retry budget to run out)
/// so the failover path runs for the whole soak.
pub fn config_toml(mock: &str) -> String {
    let mut out = format!(
        "\n[routing]\ncircuit_failures = 1000000000\nretry_budget_percent = 100\n\n\
         [[providers]]\nname = \"flaky\"\nbase_url = \"{mock}\"\n\n\
         [[models]]\nname = \"{BROKEN_MODEL}\"\nprovider = \"mock\"\nupstream_model = \"mock+status=500\"\n\
         price = {{ input = \"1\", output = \"2\" }}\n"
    );
    for model in FAILOVER_MODELS {
        out.push_str(&format!(
            "\n[[models]]\nname = \"{model}\"\nprovider = \"flaky\"\nupstream_model = \"mock+status=500\"\n\
             price = {{ input = \"0.001\", output = \"0.001\" }}\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_per_hundred_requests() {
        let kinds: Vec<Kind> = (0..100).map(Kind::of).collect();
        let count = |name: &str| kinds.iter().filter(|k| k.name() == name).count();
        assert_eq!(count("plain"), 64);
        assert_eq!(count("stream"), 20);
        assert_eq!(count("failover"), 10);
        assert_eq!(count("upstream_error"), 5);
        assert_eq!(count("unknown_model"), 1);
        assert_eq!(kinds.iter().filter(|k| k.stream()).count(), 20 + 5 + 2);
        assert_eq!(Kind::of(199), Kind::Unknown);
    }

    #[test]
    fn each_kind_expects_its_answer() {
        assert!(Kind::Plain.expects(200) && !Kind::Plain.expects(502));
        assert!(Kind::Failover { stream: true }.expects(200));
        assert!(
            Kind::Broken { stream: false }.expects(502)
                && !Kind::Broken { stream: false }.expects(200)
        );
        assert!(Kind::Unknown.expects(404) && !Kind::Unknown.expects(200));
    }

    #[test]
    fn models_and_users_go_into_the_request() {
        let plain = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(model(Kind::Plain, 1, &plain, |n| n - 1), "b");
        assert_eq!(
            model(Kind::Failover { stream: false }, 1, &plain, |_| 0),
            FAILOVER_MODELS[0]
        );
        assert_eq!(
            model(Kind::Broken { stream: true }, 1, &plain, |_| 0),
            BROKEN_MODEL
        );
        assert_eq!(
            model(Kind::Unknown, 7, &plain, |_| 0),
            "soak-made-up-model-7"
        );
        assert!(plain_model("gpt-5") && !plain_model(BROKEN_MODEL) && !plain_model("gpt-5-mini"));
        let body = with_user(&Bytes::from_static(br#"{"model":"m"}"#), "user-0007");
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["user"], "user-0007");
        assert_eq!(value["model"], "m");
    }

    #[test]
    fn the_config_names_every_model_once() {
        let text = config_toml("http://127.0.0.1:9/v1");
        for model in FAILOVER_MODELS {
            assert_eq!(text.matches(&format!("name = \"{model}\"")).count(), 1);
        }
        assert!(text.contains("upstream_model = \"mock+status=500\""));
        assert!(text.contains("[routing]"));
    }
}
