//! `.ci/test` checks what the test suite needs before running it and names what
//! is missing, with how to get it. Each prerequisite is hidden in turn (a PATH
//! holding every tool but that one) and the script, in its check-only mode,
//! must stop naming it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tools `.ci/test` calls, besides shell builtins.
const TOOLS: &[&str] = &[
    "bash",
    "cargo",
    "curl",
    "dirname",
    "id",
    "ls",
    "node",
    "npm",
    "pg_dump",
    "pg_isready",
    "psql",
    "python3",
    "redis-cli",
    "sudo",
];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join(".ci")
        .join("test")
}

/// Where `tool` really is (through version-manager shims, for Python).
fn locate(tool: &str) -> Option<PathBuf> {
    if tool == "python3" {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()?;
        return Some(PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()));
    }
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// Runs `.ci/test` in check-only mode with every tool but `hidden` on PATH.
fn check_without(hidden: Option<&str>) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!(
        "gateway-ci-path-{}",
        gateway::keys::mint().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for tool in TOOLS.iter().filter(|t| Some(**t) != hidden) {
        if let Some(path) = locate(tool) {
            std::os::unix::fs::symlink(path, dir.join(tool)).unwrap();
        }
    }
    let output = Command::new(dir.join("bash"))
        .arg(script())
        .env("PATH", &dir)
        .env("CI_CHECK_ONLY", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn the_test_script_names_each_missing_prerequisite_and_how_to_get_it() {
    // This machine has them all (the rest of the suite needs them).
    let (ok, text) = check_without(None);
    assert!(ok, "{text}");
    assert!(text.contains("prerequisites: all present"), "{text}");
    // (hidden tool, what the script must say)
    let cases = [
        ("redis-cli", "redis-cli (and Redis)"),
        ("psql", "psql (Postgres client tools)"),
        ("pg_dump", "apt-get install postgresql-client"),
        ("node", "Node.js 20+ and npm"),
        ("npm", "Node.js 20+ and npm"),
        ("python3", "apt-get install python3"),
        ("curl", "curl (the README's offline example"),
        ("cargo", "https://rustup.rs"),
    ];
    for (hidden, expected) in cases {
        let (ok, text) = check_without(Some(hidden));
        assert!(!ok, "without {hidden} the check passed:\n{text}");
        assert!(
            text.contains("missing prerequisites") && text.contains(expected),
            "without {hidden}:\n{text}"
        );
    }
}
