//! `gateway roi`: the flags turned into the same scenario or measurement as a
//! `POST /api/v1/roi` body, over the config's routing table and policy (or, with
//! no config, every provider of the embedded catalog at list price), with
//! errors naming the flag at fault.

use std::time::Duration;

use analytics::store::StoreError;
use pricing::catalog::CatalogError;
use pricing::roi::Share;
use pricing::{Capabilities, Catalog, Cost};

use super::{
    measure, scenario, scenario_mode, InputError, MeasureError, Measurement, ModelShare, Profile,
    Report, Scenario, Spend,
};
use crate::cli::RoiArgs;
use crate::clock;
use crate::config::{Config, ConfigError, Flavor, ProviderConfig, ProviderKey, Timeouts};
use crate::routing::table::TableError;
use crate::routing::{Mode, Policy, RoutingTable};

#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("{flag}: {message}")]
    Input { flag: &'static str, message: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("the embedded catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Open(#[from] crate::events::OpenError),
}

fn input(flag: &'static str, message: impl Into<String>) -> ArgsError {
    ArgsError::Input {
        flag,
        message: message.into(),
    }
}

/// The flag that sets a body field.
fn flag(param: &str) -> &'static str {
    match param {
        "seats" => "--seats",
        "price_per_seat" => "--price-per-seat",
        "current_monthly_cost" => "--current",
        "optimized_monthly_cost" => "--optimized",
        "requests_per_seat_per_day" => "--requests-per-seat-per-day",
        "working_days_per_month" => "--working-days",
        "prompt_tokens" => "--prompt-tokens",
        "completion_tokens" => "--completion-tokens",
        "capabilities" => "--capability",
        "days" => "--days",
        _ => "--model",
    }
}

impl From<InputError> for ArgsError {
    fn from(error: InputError) -> ArgsError {
        input(flag(error.param), error.message)
    }
}

fn amount(param: &'static str, text: &str) -> Result<Cost, ArgsError> {
    Cost::parse_usd(text)
        .map_err(|e| input(flag(param), e.to_string()))
        .and_then(|cost| Ok(pricing::roi::check_amount(param, cost).map_err(InputError::from)?))
}

/// Works the ROI the flags describe.
pub async fn run(args: &RoiArgs) -> Result<Report, ArgsError> {
    let config = args.config.as_deref().map(Config::load).transpose()?;
    let price_per_seat = amount("price_per_seat", &args.price_per_seat)?;
    if args.measured {
        let config = config.ok_or_else(|| {
            input(
                "--config",
                "--measured reads the analytics store the config names",
            )
        })?;
        let tenant = args
            .tenant
            .clone()
            .ok_or_else(|| input("--tenant", "--measured needs the tenant to measure"))?;
        let store = crate::events::open_store(&config.analytics).await?;
        let measurement = Measurement {
            tenant,
            filter: analytics::store::queries::Filter::default(),
            seats: args.seats,
            price_per_seat,
            days: args.days,
        };
        return measure(&store, &measurement)
            .await
            .map_err(|error| match error {
                MeasureError::Input(error) => error.into(),
                MeasureError::Store(error) => error.into(),
            });
    }
    let spend = match (&args.current, &args.optimized, args.models.is_empty()) {
        (Some(current), Some(optimized), true) => Spend::Given {
            current: amount("current_monthly_cost", current)?,
            optimized: amount("optimized_monthly_cost", optimized)?,
        },
        (None, None, false) => Spend::Profile(profile(args)?),
        (_, _, false) => {
            return Err(input(
                "--model",
                "give either --current and --optimized, or a profile (--model ...), not both",
            ))
        }
        (None, _, true) => return Err(input("--current", "required (or a profile: --model ...)")),
        (_, None, true) => return Err(input("--optimized", "required with --current")),
    };
    let mode = match args.policy.as_deref() {
        None => None,
        Some("strict") => Some(Mode::Strict),
        Some("equivalent") => Some(Mode::Equivalent),
        Some(_) => return Err(input("--policy", "expected strict or equivalent")),
    };
    let (table, base) = match &config {
        Some(config) => (
            RoutingTable::build(&config.providers, &config.models, &config.catalog)?,
            config.routing.policy.over(&Policy::default()),
        ),
        None => (catalog_table(&Catalog::embedded()?)?, Policy::default()),
    };
    let policy = Policy {
        mode: scenario_mode(mode, base.mode),
        ..base
    };
    let input = Scenario {
        seats: args.seats,
        price_per_seat,
        spend,
    };
    Ok(scenario(&input, &table, &policy, clock::today())?)
}

fn profile(args: &RoiArgs) -> Result<Profile, ArgsError> {
    let required = |value: Option<u64>, flag: &'static str| {
        value.ok_or_else(|| input(flag, "required with --model"))
    };
    let single = args.models.len() == 1;
    let models = args
        .models
        .iter()
        .map(|spec| {
            let (model, share) = match spec.split_once('=') {
                Some((model, share)) => (model, Share::parse(share)),
                None if single => (spec.as_str(), Some(Share::WHOLE)),
                None => (spec.as_str(), None),
            };
            let share = share.ok_or_else(|| {
                input(
                    "--model",
                    format!("`{spec}`: give each of several models its share, as NAME=0.5"),
                )
            })?;
            Ok(ModelShare {
                model: model.to_owned(),
                share,
            })
        })
        .collect::<Result<_, ArgsError>>()?;
    let capabilities = args
        .capabilities
        .iter()
        .try_fold(
            Capabilities::empty(),
            |all, name| match Capabilities::from_name(name) {
                Some(c) if c != Capabilities::EMBEDDINGS => Ok(all.union(c)),
                _ => Err(input(
                    "--capability",
                    format!("unknown capability `{name}`"),
                )),
            },
        )?;
    Ok(Profile {
        requests_per_seat_per_day: required(
            args.requests_per_seat_per_day,
            "--requests-per-seat-per-day",
        )?,
        working_days_per_month: args.working_days,
        prompt_tokens: required(args.prompt_tokens, "--prompt-tokens")?,
        completion_tokens: required(args.completion_tokens, "--completion-tokens")?,
        capabilities,
        models,
    })
}

/// Every provider of `catalog` as if configured under its catalog name: list
/// prices only, never called.
fn catalog_table(catalog: &Catalog) -> Result<RoutingTable, TableError> {
    let mut names: Vec<&str> = catalog
        .entries()
        .iter()
        .map(|e| e.provider.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let never = Duration::from_secs(1);
    let providers: Vec<ProviderConfig> = names
        .into_iter()
        .map(|name| ProviderConfig {
            name: name.to_owned(),
            catalog: name.to_owned(),
            flavor: Flavor::OpenAi,
            base_url: String::new(),
            api_key: ProviderKey::None,
            headers: Vec::new(),
            query: Vec::new(),
            timeouts: Timeouts {
                connect: never,
                first_byte: never,
                idle: never,
                total: never,
            },
            responses_api: false,
        })
        .collect();
    RoutingTable::build(&providers, &[], catalog)
}
