//! The official Anthropic, Gemini and OpenAI Python SDKs (and, for the Responses
//! API, OpenAI's OpenAPI spec) judge the mock provider's wire formats: pointed
//! straight at the mock (no gateway in between), every answer, stream and error
//! must come out as the SDK's own types. The gateway's adapters
//! and ingress tests rely on the mock speaking these formats as the real APIs do.
//!
//! The scripts live in `tests/sdk/`; `tests/sdk/setup.sh` installs the SDKs in its
//! venv. When that has not been done these tests fail and say so: they never skip.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sdk")
}

/// Runs `script` with the venv's Python against a fresh mock; its output, or why
/// it failed.
async fn judge(script: &str) -> Result<String, String> {
    let python = sdk_dir().join(".venv").join("bin").join("python");
    if !python.exists() {
        return Err(format!(
            "{} is missing: run `bash gateway/tests/sdk/setup.sh` (from the repository root) \
             to install the SDKs these tests drive",
            python.display()
        ));
    }
    let mock = gateway::mock_provider::start("127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
        .await
        .map_err(|e| format!("mock: {e}"))?;
    let child = Command::new(&python)
        .arg(script)
        .current_dir(sdk_dir())
        .env("MOCK_BASE_URL", format!("http://{}", mock.addr))
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("ANTHROPIC_BASE_URL")
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .env_remove("GOOGLE_GENAI_API_VERSION")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {script}: {e}"))?;
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("{script} timed out after {SCRIPT_TIMEOUT:?}"))?
        .map_err(|e| format!("{script} failed to run: {e}"))?;
    let text = format!(
        "--- stdout of {script}\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!("{script} exited with {}\n{text}", output.status))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_sdk_accepts_the_mocks_messages_api() {
    match judge("mock_anthropic_python.py").await {
        Ok(output) => println!("{output}"),
        Err(report) => panic!("{report}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gemini_sdk_accepts_the_mocks_gemini_api() {
    match judge("mock_gemini_python.py").await {
        Ok(output) => println!("{output}"),
        Err(report) => panic!("{report}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_sdk_and_spec_accept_the_mocks_responses_api() {
    match judge("mock_openai_responses_python.py").await {
        Ok(output) => println!("{output}"),
        Err(report) => panic!("{report}"),
    }
}
