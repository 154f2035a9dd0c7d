//! Live traffic: synthetic clients sending real HTTP requests through the
//! gateway (routing, failover, streaming, usage events) at a modest rate, and
//! the "weather" of the simulated providers: latencies that wander, and outages
//! of the flaky one that the gateway fails over around.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::random::Rng;
use super::setup::MintedKeys;
use super::synth::Synthetic;
use super::workload::{SimProvider, PROVIDERS, REPLY_WORDS};
use crate::mock_provider::MockState;

/// Most requests in flight; beyond it a tick is skipped.
const MAX_IN_FLIGHT: usize = 64;
/// How often provider latencies change.
const WEATHER_TICK: Duration = Duration::from_millis(750);
/// Chance per tick that the flaky provider starts an outage, and its length in ticks.
const OUTAGE_CHANCE: f64 = 0.01;
const OUTAGE_TICKS: (u64, u64) = (6, 20);

/// A 1x1 PNG, for requests that send an image.
const PIXEL: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII=";
/// Prompt text is this, repeated: only its size matters.
const FILLER: &str = "fn main() { let answer = compute(&input); println!(\"{answer}\"); } // ";

/// The mock behaviour for a provider: its latency, jittered, and its answer size.
pub fn behaviour(provider: &SimProvider, rng: &mut Rng, outage: bool) -> String {
    let delay = (provider.delay_ms as f64 * rng.jitter(0.3)) as u64;
    let chunk = (provider.chunk_delay_ms as f64 * rng.jitter(0.3)) as u64;
    let mut text = format!("delay_ms={delay}+chunk_delay_ms={chunk}+words={REPLY_WORDS}");
    if outage {
        text.push_str("+status=503");
    }
    text
}

/// Running traffic; [`Traffic::stop`] ends it and waits for open requests.
pub struct Traffic {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Traffic {
    /// Starts the clients (`rate` requests per second; 0: none) and the weather.
    pub fn start(
        gateway: SocketAddr,
        keys: &MintedKeys,
        rate: f64,
        mocks: Vec<Arc<MockState>>,
        seed: u64,
    ) -> Traffic {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(weather(
            mocks,
            Rng::new(seed),
            stopped.clone(),
        ))];
        if rate > 0.0 {
            let keys: Vec<(&'static str, String)> =
                keys.0.iter().map(|(id, key)| (*id, key.clone())).collect();
            tasks.push(tokio::spawn(clients(
                gateway,
                keys,
                rate,
                Rng::new(seed ^ 0x5eed),
                stopped,
            )));
        }
        Traffic { stop, tasks }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn weather(mocks: Vec<Arc<MockState>>, mut rng: Rng, mut stop: watch::Receiver<bool>) {
    let mut outage_left = 0u64;
    loop {
        if outage_left == 0 && rng.chance(OUTAGE_CHANCE) {
            outage_left = rng.between(OUTAGE_TICKS.0, OUTAGE_TICKS.1);
        }
        for (provider, mock) in PROVIDERS.iter().zip(&mocks) {
            mock.set_behaviour(&behaviour(
                provider,
                &mut rng,
                provider.flaky && outage_left > 0,
            ));
        }
        outage_left = outage_left.saturating_sub(1);
        tokio::select! {
            () = tokio::time::sleep(WEATHER_TICK) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn clients(
    gateway: SocketAddr,
    keys: Vec<(&'static str, String)>,
    rate: f64,
    mut rng: Rng,
    mut stop: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "demo traffic: no HTTP client");
            return;
        }
    };
    let base = format!("http://{gateway}/v1");
    let mut open = JoinSet::new();
    loop {
        // Exponential gaps: arrivals of a Poisson process at `rate` per second.
        let gap = -(1.0 - rng.unit()).ln() / rate;
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(gap.min(30.0))) => {}
            _ = stop.changed() => break,
        }
        while open.try_join_next().is_some() {}
        if open.len() >= MAX_IN_FLIGHT {
            continue;
        }
        let synthetic = Synthetic::draw(&mut rng);
        let Some((_, key)) = keys.iter().find(|(id, _)| *id == synthetic.profile.key) else {
            continue;
        };
        let request = request(&client, &base, key, &synthetic);
        open.spawn(async move {
            // Errors are part of the show (outages, failovers): the dashboard reports them.
            if let Ok(response) = request.send().await {
                let _ = response.bytes().await;
            }
        });
    }
    while open.join_next().await.is_some() {}
}

fn request(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    synthetic: &Synthetic,
) -> reqwest::RequestBuilder {
    let text = prompt_text(synthetic.prompt_tokens * 4);
    let (path, body) = if synthetic.profile.embeddings {
        (
            "embeddings",
            json!({"model": synthetic.model, "input": text}),
        )
    } else {
        ("chat/completions", chat_body(synthetic, text))
    };
    client
        .post(format!("{base}/{path}"))
        .bearer_auth(key)
        .header(reqwest::header::USER_AGENT, synthetic.profile.user_agent)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
}

fn chat_body(synthetic: &Synthetic, text: String) -> Value {
    let question = if synthetic.vision {
        json!([
            {"type": "text", "text": "What does this screenshot show?"},
            {"type": "image_url", "image_url": {"url": PIXEL}}
        ])
    } else {
        json!("Explain what this code does and suggest a fix.")
    };
    let mut body = json!({
        "model": synthetic.model,
        "messages": [
            {"role": "system", "content": text},
            {"role": "user", "content": question}
        ],
        "stream": synthetic.stream,
    });
    if synthetic.tools {
        body["tools"] = json!([{
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read a file of the workspace",
                "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}
            }
        }]);
    }
    body
}

fn prompt_text(bytes: u64) -> String {
    let bytes = usize::try_from(bytes).unwrap_or(usize::MAX).min(256 * 1024);
    FILLER.chars().cycle().take(bytes).collect()
}
