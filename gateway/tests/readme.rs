//! The README is executable: the commands of its "Try it offline" section are
//! read from README.md itself and run as written (only `cargo run --release -p
//! gateway --` becomes this build's binary), and the sample answer it shows must
//! be what the gateway answers. Its model count and provider ids must be the
//! embedded catalog's.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test setup: a failure must stop the test"
)]

use std::collections::BTreeSet;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gateway");
const CARGO_RUN: &str = "cargo run --release -p gateway --";
/// Longest the offline example may take (the gateway starts in well under a second).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).unwrap()
}

/// The body of the section under `heading` (a whole heading line, e.g.
/// `### Try it offline`), up to the next heading of the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let Some(start) = text.find(&format!("\n{heading}\n")) else {
        panic!("README.md has no `{heading}` section: the offline example cannot be checked")
    };
    let body = &text[start + heading.len() + 2..];
    let mut offset = 0;
    let mut in_fence = false;
    for line in body.split_inclusive('\n') {
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !in_fence && hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            break;
        }
        offset += line.len();
    }
    &body[..offset]
}

/// The fenced blocks of `text`: (info string, content).
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, content)), None) => {
                content.push_str(line);
                content.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(current.is_none(), "an unclosed code fence in the section");
    blocks
}

/// Whether `unshare` can give the script a network namespace of its own, so
/// the README's fixed ports (8080, 9000) cannot meet anything else running here.
fn own_network_namespace() -> bool {
    Command::new("unshare")
        .args(["--net", "--map-root-user", "ip", "link", "set", "lo", "up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `script` with `sh` in `dir`, in a process group of its own which is
/// ended afterwards (the README starts servers in the background); returns the
/// exit status, stdout and stderr.
fn run_script(script: &str, dir: &Path) -> (bool, String, String) {
    let mut command = if own_network_namespace() {
        let mut command = Command::new("unshare");
        command.args(["--net", "--map-root-user", "sh", "-c"]);
        command.arg(format!("ip link set lo up\n{script}"));
        command
    } else {
        for port in [8080, 9000] {
            assert!(
                std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
                "port {port} is taken and `unshare --net` is not available: \
                 the README's offline example cannot run here"
            );
        }
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    };
    let mut child = command
        .current_dir(dir)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("GATEWAY_CONFIG")
        .env_remove("OPENAI_API_KEY")
        .env_remove("GROQ_API_KEY")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let group = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The background servers: stop them (the whole group), then collect output.
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    if status.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    let Some(status) = status else {
        panic!("the offline example did not finish in {SCRIPT_TIMEOUT:?}\nstdout:\n{stdout}\nstderr:\n{stderr}")
    };
    (status.success(), stdout, stderr)
}

/// `x-gateway-*` headers of an HTTP answer as `curl -i` prints it.
fn gateway_headers(head: &str) -> Vec<(String, String)> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .filter(|(name, _)| name.starts_with("x-gateway-"))
        .collect()
}

#[test]
fn the_offline_example_works_as_written() {
    let text = readme();
    let offline = section(&text, "### Try it offline");
    let blocks = fenced_blocks(offline);
    let commands: Vec<&str> = blocks
        .iter()
        .filter(|(info, _)| info == "sh")
        .map(|(_, content)| content.as_str())
        .collect();
    assert!(
        commands.len() >= 2,
        "expected the offline example's sh blocks in the section:\n{offline}"
    );
    let script = commands.join("\n");
    assert!(
        script.contains("mock-provider") && script.contains("gateway/gateway.example.toml"),
        "{script}"
    );
    assert!(
        script.contains("curl -i "),
        "the example shows headers: {script}"
    );
    let script = script.replace(CARGO_RUN, &format!("'{BIN}'"));
    // A scratch directory standing for the checkout: the example's relative
    // paths (the config, and the store files it creates) resolve there.
    let dir =
        std::env::temp_dir().join(format!("gateway-readme-{}", gateway::keys::mint().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(repo_root().join("gateway"), dir.join("gateway")).unwrap();
    let (ok, stdout, stderr) = run_script(&script, &dir);
    assert!(
        ok,
        "the offline example failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    // The chat answer, with the headers that explain it.
    let answer_start = stdout
        .find("HTTP/1.1 ")
        .unwrap_or_else(|| panic!("no HTTP answer in:\n{stdout}\nstderr:\n{stderr}"));
    let answer = &stdout[answer_start..];
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header block in:\n{answer}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    // The JSON answer, and after it whatever the section's next commands print.
    let json: serde_json::Value = serde_json::Deserializer::from_str(body)
        .into_iter()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("the answer is not chat JSON:\n{body}"));
    assert_eq!(json["object"], "chat.completion", "{json}");
    let content = json["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or("");
    assert!(!content.is_empty(), "{json}");
    let headers = gateway_headers(head);
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in:\n{head}"))
    };
    assert_eq!(value("x-gateway-provider"), "mock", "{head}");
    assert_eq!(value("x-gateway-route-reason"), "requested", "{head}");
    assert_eq!(value("x-gateway-priced"), "true", "{head}");
    assert_eq!(value("x-gateway-savings-usd"), "0", "{head}");
    assert!(value("x-gateway-cost-usd").starts_with("0.0"), "{head}");

    // The sample answer the README shows is this answer (timings aside).
    let sample = blocks
        .iter()
        .find(|(info, content)| info != "sh" && content.starts_with("HTTP/1.1 200"))
        .map(|(_, content)| content.as_str())
        .unwrap_or_else(|| {
            panic!("the section shows no sample answer (a block starting `HTTP/1.1 200`)")
        });
    let shown = gateway_headers(sample);
    assert!(
        shown.len() >= 5,
        "the sample shows the x-gateway headers: {sample}"
    );
    for (name, shown_value) in &shown {
        if name == "x-gateway-overhead-ms" {
            continue;
        }
        assert_eq!(
            value(name),
            shown_value,
            "{name}: README sample vs real answer"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_readme_names_the_catalogs_model_count_and_provider_ids() {
    let text = readme();
    // Words of the section on one line each way: prose wraps anywhere.
    let routing = section(&text, "## Routing and prices")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let catalog = pricing::Catalog::embedded().unwrap();
    let phrase = "list prices of ";
    let at = routing.find(phrase).unwrap_or_else(|| {
        panic!("`## Routing and prices` no longer says `{phrase}N chat and embedding models`")
    });
    let rest = &routing[at + phrase.len()..];
    let count: usize = rest
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no model count after `{phrase}`: {rest}"));
    assert_eq!(count, catalog.entries().len(), "README model count");
    // The provider ids: every `code` span of that sentence.
    let sentence_end = rest.find(").").map_or(rest.len(), |i| i + 2);
    let sentence = &rest[..sentence_end];
    let named: BTreeSet<&str> = sentence.split('`').skip(1).step_by(2).collect();
    let ids: BTreeSet<&str> = catalog
        .entries()
        .iter()
        .map(|e| e.provider.as_str())
        .collect();
    assert_eq!(named, ids, "README provider ids in: {sentence}");
}

#[test]
fn sections_are_found_by_heading_and_end_at_the_next() {
    let text = "# T\n\n## A\n\nx\n\n```sh\n# not a heading\n```\n\n### B\n\ny\n\n## C\n\nz\n";
    assert_eq!(
        section(text, "## A"),
        "\nx\n\n```sh\n# not a heading\n```\n\n### B\n\ny\n\n"
    );
    assert_eq!(section(text, "### B"), "\ny\n\n");
    let blocks = fenced_blocks(section(text, "## A"));
    assert_eq!(blocks, [("sh".to_owned(), "# not a heading\n".to_owned())]);
    let missing = std::panic::catch_unwind(|| section(text, "### Try it offline"));
    assert!(missing.is_err());
}
