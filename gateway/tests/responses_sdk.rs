//! The official OpenAI SDKs' Responses API (Python `openai`: `responses.create`
//! and `responses.stream`; Node `openai`: the same) as judges of the gateway's
//! `POST /v1/responses`, with only the base URL and the key changed: string
//! and item input, instructions, a function tool round trip, the typed event
//! stream and its final response, and each error as the SDK's own class. Each
//! script runs against the gateway in front of the mock provider speaking
//! OpenAI chat, Anthropic and Gemini (all translated).
//!
//! The scripts live in `tests/sdk/`; `tests/sdk/setup.sh` installs the SDKs.
//! When that has not been done these tests fail and say so: they never skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

mod common;
#[path = "common/flavors.rs"]
mod flavors;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use flavors::{setup, Upstream, UPSTREAMS};
use tokio::process::Command;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sdk")
}

/// `program`, once `installed` (relative to `tests/sdk/`) exists.
fn installed(program: &Path, installed: &str) -> PathBuf {
    let needed = sdk_dir().join(installed);
    assert!(
        needed.exists(),
        "{} is missing: run `bash gateway/tests/sdk/setup.sh` (from the repository root) \
         to install the OpenAI SDKs these tests drive",
        needed.display()
    );
    program.to_owned()
}

/// Runs `program args..` in `tests/sdk/` against a gateway in front of a mock
/// speaking `upstream`; panics with the script's output if it fails.
async fn judge(program: &Path, args: &[&str], upstream: Upstream) {
    let s = setup(upstream).await;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(sdk_dir())
        .env("GATEWAY_BASE_URL", s.url("/v1"))
        .env("GATEWAY_KEY", &s.key)
        .env("UPSTREAM", upstream.flavor())
        .env("MODEL", "claude-x")
        // Only the base URL and key the script gives may reach the SDKs.
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_ORG_ID")
        .env_remove("OPENAI_PROJECT_ID")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let shown = format!("{} {} ({upstream:?})", program.display(), args.join(" "));
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{shown}`: {e} (see gateway/tests/sdk/setup.sh)"));
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`{shown}` timed out after {SCRIPT_TIMEOUT:?}"))
        .unwrap();
    let text = format!(
        "--- stdout of `{shown}`\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "`{shown}` exited with {}\n{text}",
        output.status
    );
    println!("{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_responses_api_works_against_every_upstream_format() {
    let python = installed(
        &sdk_dir().join(".venv").join("bin").join("python"),
        ".venv/bin/python",
    );
    for upstream in UPSTREAMS {
        judge(&python, &["test_openai_responses_python.py"], upstream).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_sdk_responses_api_works_against_every_upstream_format() {
    let node = installed(Path::new("node"), "node_modules/openai");
    for upstream in UPSTREAMS {
        judge(
            &node,
            &["--test", "test_openai_responses_node.mjs"],
            upstream,
        )
        .await;
    }
}
