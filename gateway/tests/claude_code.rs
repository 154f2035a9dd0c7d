//! Claude Code itself (the `@anthropic-ai/claude-code` CLI, pinned in
//! `tests/sdk/package.json`) against the gateway, configured as the README
//! says and in no other way: `ANTHROPIC_BASE_URL` and `ANTHROPIC_AUTH_TOKEN`
//! (a gateway key). One non-interactive turn (`claude -p`) with Claude Code's
//! own system prompt, tool definitions and cache markers, served by the mock
//! speaking Anthropic (passed through), OpenAI chat and Gemini (translated).
//! The answer must reach the terminal and every call must leave a usage event
//! billed at the catalog's price.
//!
//! `tests/sdk/setup.sh` installs the CLI; without it this test fails and says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

#[path = "common/clients.rs"]
mod clients;
mod common;
#[path = "common/flavors.rs"]
mod flavors;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use flavors::{setup, UPSTREAMS};
use tokio::process::Command;

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// What the mock answers with when it is not asked for a tool call.
const MOCK_REPLY: &str = "Hello from the mock provider";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_works_with_only_its_base_url_and_token_changed() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    let claude = sdk.join("node_modules/.bin/claude");
    assert!(
        claude.exists(),
        "{} is missing: run `bash gateway/tests/sdk/setup.sh` (from the repository root)",
        claude.display()
    );
    for upstream in UPSTREAMS {
        let s = setup(upstream).await;
        // Claude Code writes reminders as `system` messages inside `messages`,
        // which Anthropic's first-party API accepts (the mock refuses them
        // unless told, to catch translations that should lift them out).
        s.mock.state.set_behaviour("system_messages=1");
        // A home and a project of its own: no settings, login or history of
        // the machine's user reach the run.
        let home = std::env::temp_dir().join(format!(
            "gateway-claude-code-{}",
            gateway::keys::mint().unwrap()
        ));
        let project = home.join("project");
        std::fs::create_dir_all(&project).unwrap();
        let child = Command::new(&claude)
            .args(["-p", "Say hello", "--model", "claude-x"])
            .current_dir(&project)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("ANTHROPIC_BASE_URL", s.url(""))
            .env("ANTHROPIC_AUTH_TOKEN", &s.key)
            // Nothing but the gateway is there to reach.
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("claude -p timed out ({upstream:?})"))
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let shown = format!("{upstream:?}: stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(output.status.success(), "{shown}");
        assert!(stdout.contains(MOCK_REPLY), "{shown}");

        let events = clients::events(&s.gateway, "acme", 1).await;
        assert!(!events.is_empty(), "{shown}");
        // One event per call Claude Code made, each answered by the provider.
        assert_eq!(events.len() as u64, s.upstream_requests(), "{events:#?}");
        for event in &events {
            assert_eq!(event.endpoint, "messages", "{event:?}");
            assert_eq!(event.status, 200, "{event:?}");
            assert_eq!(event.ingress_format.as_deref(), Some("anthropic"));
            let format = match upstream.flavor() {
                "openai" => "openai_chat",
                flavor => flavor,
            };
            assert_eq!(event.upstream_format.as_deref(), Some(format), "{event:?}");
            assert!(
                event.prompt_tokens > 1000,
                "Claude Code's own prompt: {event:?}"
            );
            assert!(
                event.cost_usd.is_some_and(|c| c > pricing::Cost::ZERO),
                "{event:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&home);
    }
}
