//! The `gateway` binary: parses the command line, sets up logging, runs a command.

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use gateway::cli::{AlertsCommand, Cli, Command, KeysCommand, ReportsCommand};
use gateway::config::Config;
use gateway::keys::{self, KeyHash};
use tracing_subscriber::EnvFilter;

// mimalloc: about 11% fewer instructions per proxied request than glibc malloc
// (callgrind, benches/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(default: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => {
            let path = config;
            let config = match Config::load(&path) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::FAILURE;
                }
            };
            init_logging(&config.server.log);
            let threads = config.server.worker_threads;
            run_on(runtime(threads), serve(config, path))
        }
        Command::CheckConfig { config } => match Config::load(&config)
            .map_err(|e| e.to_string())
            .and_then(|config| {
                // Building the routing table checks what the file alone cannot: model
                // names in policies, `price_as` references.
                let snapshot = gateway::state::Snapshot::new(&config).map_err(|e| e.to_string())?;
                let warnings = gateway::checks::warnings(&config, &snapshot.table);
                Ok((config, warnings))
            }) {
            Ok((config, warnings)) => {
                // Warnings do not fail the check: the file works as written.
                for warning in &warnings {
                    eprintln!("warning: {warning}");
                }
                let noted = match warnings.len() {
                    0 => String::new(),
                    1 => ", 1 warning".to_owned(),
                    n => format!(", {n} warnings"),
                };
                println!(
                    "ok: {} providers, {} models, {} keys{noted}",
                    config.providers.len(),
                    config.models.len(),
                    config.keys.len()
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Keys { command } => keys_command(command),
        Command::Alerts {
            command: AlertsCommand::Test { config, channel },
        } => {
            init_logging("warn");
            run_async(async move {
                let config = match Config::load(&config) {
                    Ok(config) => config,
                    Err(error) => return fail(&error),
                };
                alerts_test(&config, &channel).await
            })
        }
        Command::Reports {
            command:
                ReportsCommand::Send {
                    config,
                    tenant,
                    period,
                    channels,
                },
        } => {
            init_logging("warn");
            run_async(async move {
                let config = match Config::load(&config) {
                    Ok(config) => config,
                    Err(error) => return fail(&error),
                };
                match gateway::reports::cli::send(&config, &tenant, &period, channels).await {
                    Ok(sent) => {
                        let text = serde_json::to_string_pretty(&sent).unwrap_or_default() + "\n";
                        let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
                        if sent
                            .attempts
                            .iter()
                            .all(|a| a.attempt.outcome == "delivered")
                        {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                    Err(error) => fail(&error),
                }
            })
        }
        Command::Migrate {
            config,
            owner_url,
            writer_role,
            reader_role,
        } => {
            init_logging("warn");
            run_async(async move {
                let config = match Config::load(&config) {
                    Ok(config) => config,
                    Err(error) => return fail(&error),
                };
                migrate(&config, owner_url, writer_role, reader_role).await
            })
        }
        Command::Rollup { config, from, to } => {
            init_logging("warn");
            run_async(async move {
                let config = match Config::load(&config) {
                    Ok(config) => config,
                    Err(error) => return fail(&error),
                };
                if to < from {
                    eprintln!("error: --to is before --from");
                    return ExitCode::FAILURE;
                }
                let store = match gateway::events::open_store(&config.analytics).await {
                    Ok(store) => store,
                    Err(error) => return fail(&error),
                };
                match store.rollup(from, to).await {
                    Ok(()) => {
                        println!("ok: rolled up {from} to {to}");
                        ExitCode::SUCCESS
                    }
                    Err(error) => fail(&error),
                }
            })
        }
        Command::Demo {
            listen,
            data_dir,
            days,
            rate,
        } => {
            init_logging("warn");
            let options = gateway::demo::Options {
                listen,
                data_dir,
                days,
                rate: rate.clamp(0.0, 1000.0),
            };
            run_async(async move {
                match gateway::demo::run(options, shutdown_signal()).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => fail(&error),
                }
            })
        }
        Command::Roi(args) => {
            init_logging("warn");
            run_async(async move {
                match gateway::roi_profile::run(&args).await {
                    Ok(report) => {
                        // Piped into `head` or `jq`: a closed pipe is not a panic.
                        let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
                        let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
                        ExitCode::SUCCESS
                    }
                    Err(error) => fail(&error),
                }
            })
        }
        Command::MockProvider { listen } => {
            init_logging("warn");
            run_async(mock_provider(listen))
        }
    }
}

/// `gateway migrate`: Postgres as the owner (and the logins), or the embedded
/// SQLite file.
async fn migrate(
    config: &Config,
    owner_url: Option<String>,
    writer_role: Option<String>,
    reader_role: Option<String>,
) -> ExitCode {
    use gateway::config::EventStoreConfig;
    let owner = owner_url.or_else(|| match &config.analytics.store {
        EventStoreConfig::Postgres(logins) => Some(
            logins
                .owner_url
                .as_ref()
                .unwrap_or(&logins.url)
                .expose()
                .to_owned(),
        ),
        EventStoreConfig::Sqlite { .. } => None,
    });
    let Some(owner) = owner else {
        if writer_role.is_some() || reader_role.is_some() {
            eprintln!("error: --writer-role and --reader-role need Postgres (analytics.database_url or --owner-url)");
            return ExitCode::FAILURE;
        }
        return match gateway::events::open_store(&config.analytics).await {
            Ok(_) => {
                println!("ok: analytics schema is current");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        };
    };
    let report = match gateway::events::migrate_and_grant(
        &owner,
        writer_role.as_deref(),
        reader_role.as_deref(),
    )
    .await
    {
        Ok(report) => report,
        Err(error) => return fail(&error),
    };
    match report.applied.len() {
        0 => println!("ok: analytics schema is current"),
        n => println!("ok: analytics schema is current ({n} migrations applied)"),
    }
    let mut code = ExitCode::SUCCESS;
    for (side, facts, problems) in &report.logins {
        let group = side.group();
        if problems.is_empty() {
            println!(
                "ok: login `{}` is a least-privilege member of {group}",
                facts.name
            );
        }
        for problem in problems {
            if problem.blocking {
                eprintln!(
                    "error: login `{}` {} (it cannot serve as {group})",
                    facts.name, problem.text
                );
                code = ExitCode::FAILURE;
            } else {
                eprintln!(
                    "warning: login `{}` {}: more than {group} needs",
                    facts.name, problem.text
                );
            }
        }
    }
    code
}

/// `gateway alerts test`: one test alert, recorded in the store when it opens.
async fn alerts_test(config: &Config, channel: &str) -> ExitCode {
    let store = match gateway::events::open_store(&config.analytics).await {
        Ok(store) => Some(std::sync::Arc::new(store)),
        Err(error) => {
            eprintln!("warning: the attempts will not be recorded: {error}");
            None
        }
    };
    let alerts = gateway::alerts::Alerts::new(&config.alerts, store);
    let Some(report) = alerts.test(channel).await else {
        eprintln!("error: no channel named `{channel}` in [[alerts.channels]]");
        return ExitCode::FAILURE;
    };
    let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    if report.delivered {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

fn run_async(future: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    run_on(runtime(None), future)
}

/// The multi-threaded runtime, with `threads` workers or tokio's default.
fn runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}

fn run_on(
    runtime: std::io::Result<tokio::runtime::Runtime>,
    future: impl std::future::Future<Output = ExitCode>,
) -> ExitCode {
    match runtime {
        Ok(runtime) => runtime.block_on(future),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Reloads the config on every SIGHUP until the task is dropped.
#[cfg(unix)]
async fn reload_on_hangup(running: &gateway::server::RunningGateway, path: &std::path::Path) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return std::future::pending().await;
    };
    while hangups.recv().await.is_some() {
        match running.reload(path) {
            Ok(config) => {
                tracing::info!(path = %path.display(), "config reloaded");
                for warning in gateway::checks::missing_keys(&config) {
                    tracing::warn!(path = %warning.path, "{}", warning.message);
                }
            }
            Err(error) => {
                tracing::error!(%error, "config reload refused; the running config stays")
            }
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_running: &gateway::server::RunningGateway, _path: &std::path::Path) {
    std::future::pending().await
}

async fn serve(config: Config, path: std::path::PathBuf) -> ExitCode {
    let running = match gateway::server::start(&config).await {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        addr = %running.addr,
        providers = config.providers.len(),
        models = config.models.len(),
        keys = config.keys.len(),
        "gateway listening"
    );
    let snapshot = running.state.snapshot();
    for warning in gateway::checks::warnings(&config, &snapshot.table) {
        tracing::warn!(path = %warning.path, "{}", warning.message);
    }
    for warning in gateway::checks::missing_keys(&config) {
        tracing::warn!(path = %warning.path, "{}", warning.message);
    }
    tokio::select! {
        () = shutdown_signal() => {}
        () = reload_on_hangup(&running, &path) => {}
    }
    tracing::info!(
        grace_ms = config.server.shutdown_grace.as_millis() as u64,
        "signal received: shutting down"
    );
    running.shutdown().await;
    ExitCode::SUCCESS
}

async fn mock_provider(listen: std::net::SocketAddr) -> ExitCode {
    // Without copies of each request: this mock serves load tests.
    match gateway::mock_provider::start_with(listen, false).await {
        Ok(running) => {
            tracing::info!(addr = %running.addr, "mock provider listening");
            shutdown_signal().await;
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot listen on {listen}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn keys_command(command: KeysCommand) -> ExitCode {
    let printed = |result: Result<String, String>| match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    };
    match command {
        KeysCommand::Create {
            tenant,
            id,
            team,
            config: Some(config),
            settings,
        } => run_async(async move {
            printed(gateway::keys_cli::create(&config, tenant, team, id, settings).await)
        }),
        KeysCommand::List {
            config,
            tenant,
            include_revoked,
        } => run_async(async move {
            printed(gateway::keys_cli::list(&config, tenant.as_deref(), include_revoked).await)
        }),
        KeysCommand::Revoke { config, id } => {
            run_async(async move { printed(gateway::keys_cli::revoke(&config, &id).await) })
        }
        KeysCommand::Rotate {
            config,
            id,
            grace_seconds,
        } => run_async(async move {
            printed(gateway::keys_cli::rotate(&config, &id, grace_seconds).await)
        }),
        KeysCommand::Create {
            tenant,
            id,
            team,
            config: None,
            settings,
        } => {
            if settings.role.is_some()
                || settings.label.is_some()
                || !settings.models.is_empty()
                || settings.rpm.is_some()
                || settings.tpm.is_some()
                || settings.max_concurrent.is_some()
                || settings.budget_daily_usd.is_some()
                || settings.budget_monthly_usd.is_some()
            {
                return fail(
                    &"these settings are kept in the store: give --config (or GATEWAY_CONFIG)",
                );
            }
            let key = match keys::mint() {
                Ok(key) => key,
                Err(error) => {
                    eprintln!("error: no OS randomness: {error}");
                    return ExitCode::FAILURE;
                }
            };
            let hash = KeyHash::of(&key);
            let id = id.unwrap_or_else(|| format!("key_{}", &hash.to_string()[7..19]));
            println!("key (shown once, store it now): {key}");
            println!();
            println!("[[keys]]");
            println!("id = {}", toml_string(&id));
            println!("hash = \"{hash}\"");
            println!("tenant = {}", toml_string(&tenant));
            if let Some(team) = team {
                println!("team = {}", toml_string(&team));
            }
            ExitCode::SUCCESS
        }
        KeysCommand::Hash => {
            let mut input = String::new();
            if let Err(error) = std::io::stdin().read_to_string(&mut input) {
                eprintln!("error: cannot read standard input: {error}");
                return ExitCode::FAILURE;
            }
            println!("{}", KeyHash::of(input.trim()));
            ExitCode::SUCCESS
        }
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
