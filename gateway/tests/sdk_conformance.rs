//! Real clients prove the gateway is a drop-in OpenAI replacement: the official
//! OpenAI SDKs for Python and Node, changed only in base URL and key, and raw
//! responses validated against OpenAI's published OpenAPI schemas.
//!
//! The scripts live in `tests/sdk/`; `tests/sdk/setup.sh` installs what they run
//! (a Python venv and `node_modules`). When that has not been done these tests
//! fail and say so: they never skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::TestGateway;
use tokio::process::Command;

/// One script's whole run; the slowest (schema validation) takes a few seconds.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sdk")
}

fn setup_hint(missing: &Path) -> String {
    format!(
        "{} is missing: run `bash gateway/tests/sdk/setup.sh` (from the repository root) \
         to install the OpenAI SDKs these tests drive",
        missing.display()
    )
}

/// The venv's Python, or why it cannot be used.
fn venv_python() -> Result<PathBuf, String> {
    let python = sdk_dir().join(".venv").join("bin").join("python");
    if python.exists() {
        Ok(python)
    } else {
        Err(setup_hint(&python))
    }
}

/// `node`, once `node_modules/openai` is installed.
fn node() -> Result<PathBuf, String> {
    let package = sdk_dir().join("node_modules").join("openai");
    if package.exists() {
        Ok(PathBuf::from("node"))
    } else {
        Err(setup_hint(&package))
    }
}

/// Runs `program args..` in `tests/sdk/` with the gateway's address and keys in
/// its environment. `Ok` holds the combined output of a run that exited 0, `Err`
/// says what went wrong, with the output.
async fn run_script(program: &Path, args: &[&str], gw: &TestGateway) -> Result<String, String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(sdk_dir())
        .env("GATEWAY_BASE_URL", gw.base_url())
        .env("GATEWAY_KEY", &gw.key)
        .env("GATEWAY_LIMITED_KEY", &gw.limited_key)
        // Only the base URL and key given by the script may reach the SDKs.
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
    let shown = format!("{} {}", program.display(), args.join(" "));
    let child = command.spawn().map_err(|e| {
        format!("cannot start `{shown}`: {e} (is it installed? see gateway/tests/sdk/setup.sh)")
    })?;
    let output = match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("`{shown}` failed to run: {e}")),
        // Dropping the future kills the child (kill_on_drop).
        Err(_) => return Err(format!("`{shown}` timed out after {SCRIPT_TIMEOUT:?}")),
    };
    let text = format!(
        "--- stdout of `{shown}`\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("`{shown}` exited with {}\n{text}", output.status))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_works_unchanged() {
    let python = venv_python().unwrap_or_else(|e| panic!("{e}"));
    let gw = common::start().await;
    match run_script(&python, &["test_openai_python.py"], &gw).await {
        Ok(output) => println!("{output}"),
        Err(report) => panic!("{report}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_node_sdk_works_unchanged() {
    let node = node().unwrap_or_else(|e| panic!("{e}"));
    let gw = common::start().await;
    match run_script(&node, &["--test", "test_openai_node.mjs"], &gw).await {
        Ok(output) => println!("{output}"),
        Err(report) => panic!("{report}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_responses_match_the_openai_openapi_schemas() {
    let python = venv_python().unwrap_or_else(|e| panic!("{e}"));
    let gw = common::start().await;
    match run_script(&python, &["validate_schemas.py"], &gw).await {
        Ok(output) => println!("{output}"),
        Err(report) => panic!("{report}"),
    }
}
