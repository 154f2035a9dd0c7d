//! The dashboard in a real browser: headless Chromium (Debian's
//! `/usr/bin/chromium`) driven by playwright-core, saving screenshots to
//! `dashboards/screenshots/`.
//!
//! - The savings page: `gateway demo` (the built binary) on a free port with a
//!   fresh data directory; the browser signs in with the key the demo printed,
//!   checks the tiles against the analytics API, the "Promised vs achieved"
//!   panel against the achievement API, and changes the date range
//!   (`dashboard.test.mjs`).
//! - The keys page: a gateway on its embedded SQLite store in front of the mock
//!   provider; a tenant owner creates, copies, uses and revokes a key and sets a
//!   team's budget in the browser, checked against the admin API at every step
//!   (`keys.test.mjs`), and checked again here afterwards.
//!
//! - The operator page: a gateway on its embedded SQLite store holding a few
//!   tenants of known traffic; an admin key sorts the table by clicking its
//!   headers, filters it by name and by flag, switches to 7 days and downloads
//!   the CSV (`operator.test.mjs`); an API key gets no Operator tab.
//! - The report download: `gateway demo` again; the browser downloads the
//!   last complete week's PDF report and it is byte for byte the one the
//!   reports API serves (`reports.test.mjs`).
//!
//! - Share links: a gateway holding two tenants' traffic; acme's owner makes a
//!   link on the savings page, it opens in a fresh context without a key and
//!   shows the analytics API's figures; a password link, a revoked and an
//!   expired link (`shares.test.mjs`).
//!
//! The scripts live in `tests/browser/`; `tests/browser/setup.sh` installs what
//! they run (Chromium, `node_modules`). When that has not been done these tests
//! fail and say so: they never skip. They take turns (one browser at a time).
#![expect(
    clippy::panic,
    reason = "test support: a failed setup must stop the test with its reason"
)]

mod common;
#[path = "common/share_env.rs"]
mod share_env;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gateway::keys::{self, KeyHash};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

/// From start to "ready:" (30 days of history, debug build, busy machine).
const DEMO_READY_TIMEOUT: Duration = Duration::from_secs(240);
/// The whole browser script.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);
const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser at a time: both tests drive Chromium on a small machine.
static BROWSER: Mutex<()> = Mutex::const_new(());

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("browser")
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("dashboards")
        .join("screenshots")
}

/// Why the browser test cannot run here, if it cannot.
fn missing_setup() -> Option<String> {
    let hint = "run `bash gateway/tests/browser/setup.sh` (from the repository root) to install \
                Chromium and playwright-core";
    let package = browser_dir().join("node_modules").join("playwright-core");
    if !package.exists() {
        return Some(format!("{} is missing: {hint}", package.display()));
    }
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} is missing: {hint}"));
    }
    None
}

/// What the demo printed before it was ready.
#[derive(Debug, Default)]
struct Banner {
    url: Option<String>,
    key: Option<String>,
    dashboard_token: Option<String>,
    other_key: Option<String>,
    lines: Vec<String>,
}

impl Banner {
    fn read(&mut self, line: &str) {
        let value = |label: &str| {
            line.trim_start()
                .strip_prefix(label)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        };
        if let Some(url) = value("dashboard:") {
            self.url = url.strip_suffix("/dashboard").map(str::to_owned);
        }
        if let Some(key) = value("tenant key:") {
            self.key = Some(key);
        }
        if let Some(key) = value("dashboard token:") {
            self.dashboard_token = Some(key);
        }
        if let Some(key) = value("other tenant key:") {
            self.other_key = Some(key);
        }
        self.lines.push(line.to_owned());
    }
}

/// Starts `gateway demo` and reads its output until it says it is ready.
async fn start_demo(data_dir: &Path) -> (Child, Banner) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--days",
            "30",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `gateway demo`: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Banner::default();
    let ready = tokio::time::timeout(DEMO_READY_TIMEOUT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            println!("demo | {line}");
            let done = line.starts_with("ready:");
            banner.read(&line);
            if done {
                return true;
            }
        }
        false
    })
    .await;
    match ready {
        Ok(true) => {}
        Ok(false) => panic!(
            "`gateway demo` ended before it was ready:\n{}",
            banner.lines.join("\n")
        ),
        Err(_) => panic!(
            "`gateway demo` was not ready within {DEMO_READY_TIMEOUT:?}:\n{}",
            banner.lines.join("\n")
        ),
    }
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, banner)
}

/// Runs `node <script>` in `tests/browser/` with `env`; its output when it
/// fails. (The caller stops what it started before failing the test.)
async fn run_script(script: &str, env: &[(&str, &str)]) -> Result<(), String> {
    let mut command = Command::new("node");
    command
        .arg(script)
        .current_dir(browser_dir())
        .env("SCREENSHOT_DIR", screenshot_dir())
        .env("CHROMIUM", CHROMIUM)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().map_err(|e| {
        format!("cannot start `node {script}`: {e} (see gateway/tests/browser/setup.sh)")
    })?;
    let output = match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("`node {script}` failed to run: {e}")),
        Err(_) => {
            return Err(format!(
                "`node {script}` timed out after {SCRIPT_TIMEOUT:?}"
            ))
        }
    };
    let report = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the browser test {script} failed ({}):\n{report}",
            output.status
        ))
    }
}

/// Whether every named screenshot was written since `started`.
fn assert_fresh_screenshots(names: &[&str], started: std::time::SystemTime) {
    for name in names {
        let path = screenshot_dir().join(name);
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= started);
        assert!(fresh, "{} was not saved by this run", path.display());
    }
}

/// SIGTERM, then wait: the demo must stop cleanly on its own.
async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
        Ok(Ok(status)) => assert!(status.success(), "`gateway demo` exited with {status}"),
        Ok(Err(e)) => panic!("waiting for `gateway demo`: {e}"),
        Err(_) => panic!("`gateway demo` did not stop within 30 s of SIGTERM"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_api_figures_in_a_real_browser() {
    if let Some(problem) = missing_setup() {
        panic!("{problem}");
    }
    let _browser = BROWSER.lock().await;
    let started = std::time::SystemTime::now();
    let data_dir = std::env::temp_dir().join(format!(
        "gateway-browser-test-{}",
        gateway::keys::mint().unwrap_or_else(|e| panic!("randomness: {e}"))
    ));
    let (demo, banner) = start_demo(&data_dir).await;
    let (Some(url), Some(key), Some(token), Some(other)) = (
        banner.url.clone(),
        banner.key.clone(),
        banner.dashboard_token.clone(),
        banner.other_key.clone(),
    ) else {
        panic!(
            "the demo's banner lacks the URL or a key:\n{}",
            banner.lines.join("\n")
        );
    };

    // The read-only dashboard token reads analytics and is refused the OpenAI API.
    let client = reqwest::Client::new();
    let summary = client
        .get(format!("{url}/api/v1/analytics/summary"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("summary with the dashboard token: {e}"));
    assert_eq!(summary.status(), 200, "the dashboard token reads analytics");
    let chat = client
        .get(format!("{url}/v1/models"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("models with the dashboard token: {e}"));
    assert_eq!(chat.status(), 403, "the dashboard token cannot call models");

    let script = run_script(
        "dashboard.test.mjs",
        &[
            ("GATEWAY_URL", &url),
            ("DASHBOARD_KEY", &key),
            ("OTHER_TENANT_KEY", &other),
        ],
    )
    .await;
    stop(demo).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    if let Err(failure) = script {
        panic!("{failure}");
    }
    assert_fresh_screenshots(
        &[
            "dashboard.png",
            "dashboard-range.png",
            "dashboard-promise.png",
        ],
        started,
    );
}

/// GET an admin API path with `key`; its JSON (the test fails unless 200).
async fn admin_get(gateway: &common::TestGateway, key: &str, path: &str) -> serde_json::Value {
    let response = gateway
        .client
        .get(gateway.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Decimal text without trailing zeros: "120.50" -> "120.5", "5.00" -> "5".
fn plain_amount(text: &str) -> String {
    match text.split_once('.') {
        Some((int, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                int.to_owned()
            } else {
                format!("{int}.{frac}")
            }
        }
        None => text.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_page_creates_copies_and_revokes_a_key_as_the_api_shows() {
    if let Some(problem) = missing_setup() {
        panic!("{problem}");
    }
    let _browser = BROWSER.lock().await;
    let started = std::time::SystemTime::now();
    let owner = keys::mint().unwrap_or_else(|e| panic!("randomness: {e}"));
    let admin = keys::mint().unwrap_or_else(|e| panic!("randomness: {e}"));
    let owner_toml = format!(
        "\n[[keys]]\nid = \"acme-owner\"\nhash = \"{}\"\ntenant = \"acme\"\nrole = \"owner\"\n\
         \n[[keys]]\nid = \"ops-admin\"\nhash = \"{}\"\ntenant = \"ops\"\nrole = \"admin\"\n",
        KeyHash::of(&owner),
        KeyHash::of(&admin)
    );
    let gateway = common::start_with(&owner_toml).await;
    let url = gateway.url("");
    let script = run_script(
        "keys.test.mjs",
        &[
            ("GATEWAY_URL", &url),
            ("OWNER_KEY", &owner),
            ("ADMIN_KEY", &admin),
            ("API_KEY", &gateway.key),
            ("CHAT_MODEL", "mock-chat"),
        ],
    )
    .await;
    if let Err(failure) = script {
        panic!("{failure}");
    }

    // Afterwards, read independently of the script: the key the browser made is
    // in the store, revoked, listed by prefix only; the team's budget is set.
    let get = |path: &'static str| admin_get(&gateway, &owner, path);
    let listed = get("/api/v1/admin/keys?include_revoked=true").await;
    let made: Vec<&serde_json::Value> = listed["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {listed}"))
        .iter()
        .filter(|k| {
            k["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("browser "))
        })
        .collect();
    assert_eq!(made.len(), 1, "one key made in the browser: {listed}");
    let key = made[0];
    assert_eq!(key["source"], "store", "{key}");
    assert_eq!(key["tenant"], "acme", "{key}");
    assert!(key["revoked_at"].is_string(), "revoked: {key}");
    assert!(key.get("key").is_none(), "no key text in a listing: {key}");
    assert!(
        key["prefix"]
            .as_str()
            .is_some_and(|p| p.starts_with("sk-gw-")),
        "{key}"
    );
    let team = key["team"]
        .as_str()
        .unwrap_or_else(|| panic!("team: {key}"));
    let teams = get("/api/v1/admin/teams").await;
    let row = teams["data"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == team))
        .unwrap_or_else(|| panic!("team {team} listed: {teams}"));
    assert_eq!(row["budget_daily_usd"], serde_json::Value::Null, "{row}");
    assert_eq!(
        row["budget_monthly_usd"].as_str().map(plain_amount),
        Some("120.5".to_owned()),
        "{row}"
    );

    // The audit log names what the owner did to the key, never the key itself.
    let audit = get("/api/v1/admin/audit?limit=100").await;
    let id = key["id"].as_str().unwrap_or_else(|| panic!("id: {key}"));
    let about_key = audit["data"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| r["target"].as_str().is_some_and(|t| t.contains(id)))
                .count()
        })
        .unwrap_or(0);
    assert!(
        about_key >= 2,
        "created and revoked in the audit log: {audit}"
    );

    assert_fresh_screenshots(&["keys.png", "keys-created.png"], started);
}

#[test]
fn amounts_lose_only_trailing_zeros() {
    for (text, plain) in [
        ("120.50", "120.5"),
        ("5.00", "5"),
        ("5", "5"),
        ("0.010", "0.01"),
        ("100", "100"),
    ] {
        assert_eq!(plain_amount(text), plain, "{text}");
    }
}

/// `count` priced events of `tenant`'s key `<tenant>-k1`, `age` days ago, each
/// costing `cost` USD (baseline twice that).
fn operator_events(tenant: &str, age: i64, count: i64, cost: &str) -> Vec<analytics::UsageEvent> {
    let amount = |text: &str| {
        pricing::Cost::parse_usd(text).unwrap_or_else(|e| panic!("amount {text}: {e}"))
    };
    let day = chrono::Utc::now().date_naive() - chrono::TimeDelta::days(age);
    (0..count)
        .map(|n| analytics::UsageEvent {
            event_id: analytics::UsageEvent::new_id(),
            occurred_at: day.and_time(chrono::NaiveTime::MIN).and_utc()
                + chrono::TimeDelta::seconds(n + 1),
            tenant_id: tenant.to_owned(),
            key_id: format!("{tenant}-k1"),
            team: None,
            user_tag: None,
            endpoint: "chat_completions".to_owned(),
            requested_model: "gpt-4o".to_owned(),
            routed_provider: Some("openai".to_owned()),
            routed_model: Some("gpt-4o-mini".to_owned()),
            route_reason: "cheaper_equivalent".to_owned(),
            attempts: 1,
            stream: false,
            status: 200,
            error_kind: None,
            prompt_tokens: 100,
            completion_tokens: 10,
            cached_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            usage_estimated: false,
            cost_usd: Some(amount(cost)),
            baseline_usd: Some(amount(cost) + amount(cost)),
            price_version: None,
            baseline_price_version: None,
            latency_ms: 100,
            ttft_ms: None,
            upstream_ms: None,
            client_family: "curl".to_owned(),
            ingress_format: Some("openai_chat".to_owned()),
            upstream_format: Some("openai_chat".to_owned()),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_view_sorts_and_filters_in_a_real_browser() {
    use analytics::store::EventStore;

    if let Some(problem) = missing_setup() {
        panic!("{problem}");
    }
    let _browser = BROWSER.lock().await;
    let started = std::time::SystemTime::now();
    let admin = keys::mint().unwrap_or_else(|e| panic!("randomness: {e}"));
    let mut toml = format!(
        "\n[[keys]]\nid = \"ops-admin\"\nhash = \"{}\"\ntenant = \"ops\"\nrole = \"admin\"\n",
        KeyHash::of(&admin)
    );
    for tenant in ["alpha", "bravo", "charlie", "delta"] {
        let key = keys::mint().unwrap_or_else(|e| panic!("randomness: {e}"));
        toml.push_str(&format!(
            "\n[[keys]]\nid = \"{tenant}-k1\"\nhash = \"{}\"\ntenant = \"{tenant}\"\n",
            KeyHash::of(&key)
        ));
    }
    let gateway = common::start_with(&toml).await;
    // 30 days: bravo 45 requests, 1.04 USD (5 this week, 40 twenty days ago:
    // churn risk); alpha 30, 0.30; charlie 12, 0.60; acme (the suite's own
    // keys), delta and ops none.
    let events: Vec<analytics::UsageEvent> = [
        operator_events("alpha", 1, 30, "0.01"),
        operator_events("bravo", 1, 5, "0.2"),
        operator_events("bravo", 20, 40, "0.001"),
        operator_events("charlie", 2, 12, "0.05"),
    ]
    .concat();
    let store = &gateway.gateway.store;
    let written = store
        .write(&events)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    assert_eq!(written, events.len() as u64);
    let today = chrono::Utc::now().date_naive();
    store
        .rollup(today - chrono::TimeDelta::days(30), today)
        .await
        .unwrap_or_else(|e| panic!("rollup: {e}"));
    let named = gateway
        .client
        .post(gateway.url("/api/v1/admin/tenants"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"id": "charlie", "name": "Chocolate Factory"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("name charlie: {e}"));
    assert_eq!(named.status(), 201, "charlie gets a name");

    let url = gateway.url("");
    let script = run_script(
        "operator.test.mjs",
        &[
            ("GATEWAY_URL", &url),
            ("ADMIN_KEY", &admin),
            ("API_KEY", &gateway.key),
            ("EXPECT_SPEND_DESC", "bravo,charlie,alpha,acme,delta,ops"),
            ("EXPECT_REQUESTS_DESC", "bravo,alpha,charlie,acme,delta,ops"),
            ("EXPECT_REQUESTS_ASC", "acme,delta,ops,charlie,alpha,bravo"),
            ("NAME_FILTER", "choco"),
            ("EXPECT_NAME_MATCH", "charlie"),
            ("EXPECT_CHURN", "bravo"),
            ("EXPECT_WEEK_REQUESTS", "bravo:5"),
        ],
    )
    .await;
    gateway.gateway.shutdown().await;
    if let Err(failure) = script {
        panic!("{failure}");
    }
    assert_fresh_screenshots(&["operator.png", "operator-churn.png"], started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_pdf_downloads_as_the_api_serves_it() {
    if let Some(problem) = missing_setup() {
        panic!("{problem}");
    }
    let _browser = BROWSER.lock().await;
    let started = std::time::SystemTime::now();
    let data_dir = std::env::temp_dir().join(format!(
        "gateway-browser-reports-{}",
        gateway::keys::mint().unwrap_or_else(|e| panic!("randomness: {e}"))
    ));
    let (demo, banner) = start_demo(&data_dir).await;
    let (Some(url), Some(key)) = (banner.url.clone(), banner.key.clone()) else {
        panic!(
            "the demo's banner lacks the URL or a key:\n{}",
            banner.lines.join("\n")
        );
    };
    let script = run_script(
        "reports.test.mjs",
        &[("GATEWAY_URL", &url), ("DASHBOARD_KEY", &key)],
    )
    .await;
    stop(demo).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    if let Err(failure) = script {
        panic!("{failure}");
    }
    assert_fresh_screenshots(&["reports.png"], started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_link_opens_without_a_key_and_shows_the_api_figures() {
    if let Some(problem) = missing_setup() {
        panic!("{problem}");
    }
    let _browser = BROWSER.lock().await;
    let env = share_env::start(share_env::UNLIMITED).await;
    share_env::seed(&env.gw).await;
    let url = env.gw.url("");
    let script = run_script(
        "shares.test.mjs",
        &[
            ("GATEWAY_URL", &url),
            ("OWNER_KEY", &env.acme_owner),
            ("READER_KEY", &env.acme_reader),
        ],
    )
    .await;
    env.gw.gateway.shutdown().await;
    if let Err(failure) = script {
        panic!("{failure}");
    }
}
