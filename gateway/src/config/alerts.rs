//! The `[alerts]` section: where notices go (`[[alerts.channels]]`), what
//! raises them (`[[alerts.rules]]`) and how often rules are evaluated. The
//! typed shape and its validation sit here (the raw shape is in `raw.rs` with
//! the others), so the rest of `config` only gains one field; errors name the key at fault like the others
//! (`alerts.rules[1].channels[0]`). Secrets (a webhook's signing secret, a
//! Slack URL, an SMTP password) are read from the variables the file names,
//! never written in it, and held as [`Secret`].

use std::time::Duration;

use pricing::Cost;

use super::raw::{RawAlerts, RawAmount, RawChannel, RawRule};
use super::ConfigError;
use crate::secret::Secret;

const DEFAULT_INTERVAL_MS: u64 = 30_000;
const DEFAULT_MAX_ATTEMPTS: u32 = 5;
const DEFAULT_BACKOFF_MS: u64 = 500;
const DEFAULT_MAX_BACKOFF_MS: u64 = 30_000;
const DEFAULT_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_THRESHOLDS: [u32; 3] = [50, 80, 100];
const DEFAULT_SPIKE_WEEKS: u32 = 4;
const DEFAULT_SMTP_PORT: u16 = 25;

/// `[alerts]`, validated.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    pub interval: Duration,
    pub delivery: DeliveryPolicy,
    pub channels: Vec<ChannelConfig>,
    pub rules: Vec<RuleConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            interval: Duration::from_millis(DEFAULT_INTERVAL_MS),
            delivery: DeliveryPolicy {
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                backoff: Duration::from_millis(DEFAULT_BACKOFF_MS),
                max_backoff: Duration::from_millis(DEFAULT_MAX_BACKOFF_MS),
                timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            },
            channels: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// Retries of one notice to one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub name: String,
    pub target: ChannelTarget,
}

#[derive(Debug, Clone)]
pub enum ChannelTarget {
    Webhook { url: Secret, secret: Secret },
    Slack { url: Secret },
    Email(EmailTarget),
}

impl ChannelTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelTarget::Webhook { .. } => "webhook",
            ChannelTarget::Slack { .. } => "slack",
            ChannelTarget::Email(_) => "email",
        }
    }
}

/// Plain SMTP (no TLS): a relay on the same host or network.
#[derive(Debug, Clone)]
pub struct EmailTarget {
    pub host: String,
    pub port: u16,
    pub from: String,
    pub to: Vec<String>,
    /// `(username, password)`.
    pub login: Option<(String, Secret)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetPeriod {
    Daily,
    Monthly,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Daily => "daily",
            BudgetPeriod::Monthly => "monthly",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    Budget {
        /// Ascending percentages.
        thresholds: Vec<u32>,
        periods: Vec<BudgetPeriod>,
    },
    SpendSpike {
        /// The factor in hundredths (3 -> 300).
        factor_percent: u32,
        weeks: u32,
        min: Cost,
    },
    ProviderCircuit {
        open_for: Duration,
        providers: Option<Vec<String>>,
    },
    EventDrops,
}

impl RuleKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleKind::Budget { .. } => "budget",
            RuleKind::SpendSpike { .. } => "spend_spike",
            RuleKind::ProviderCircuit { .. } => "provider_circuit",
            RuleKind::EventDrops => "event_drops",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RuleConfig {
    pub name: String,
    pub kind: RuleKind,
    /// Indices into [`AlertsConfig::channels`].
    pub channels: Vec<usize>,
    pub tenants: Option<Vec<String>>,
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

fn millis(path: &str, value: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    match value.unwrap_or(default) {
        0 => Err(invalid(path, "must be more than 0")),
        ms => Ok(Duration::from_millis(ms)),
    }
}

/// The value of the variable `path` names; unset or empty is an error, so a
/// channel never goes out unsigned or without its address.
fn env_secret(
    path: &str,
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    if name.is_empty() {
        return Err(invalid(path, "must not be empty"));
    }
    match lookup(name) {
        Some(value) if !value.trim().is_empty() => Ok(Secret::new(value.trim().to_owned())),
        _ => Err(invalid(
            path,
            format!("environment variable {name} is not set (or empty)"),
        )),
    }
}

pub(super) fn validate_alerts(
    raw: RawAlerts,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<AlertsConfig, ConfigError> {
    let max_attempts = raw.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    if !(1..=20).contains(&max_attempts) {
        return Err(invalid("alerts.max_attempts", "must be 1 to 20"));
    }
    let delivery = DeliveryPolicy {
        max_attempts,
        backoff: millis("alerts.backoff_ms", raw.backoff_ms, DEFAULT_BACKOFF_MS)?,
        max_backoff: millis(
            "alerts.max_backoff_ms",
            raw.max_backoff_ms,
            DEFAULT_MAX_BACKOFF_MS,
        )?,
        timeout: millis("alerts.timeout_ms", raw.timeout_ms, DEFAULT_TIMEOUT_MS)?,
    };
    let interval = millis("alerts.interval_ms", raw.interval_ms, DEFAULT_INTERVAL_MS)?;

    let mut channels: Vec<ChannelConfig> = Vec::with_capacity(raw.channels.len());
    for (i, channel) in raw.channels.into_iter().enumerate() {
        let path = format!("alerts.channels[{i}]");
        if channel.name.is_empty() || channels.iter().any(|c| c.name == channel.name) {
            return Err(invalid(
                format!("{path}.name"),
                format!("channel name `{}` is empty or repeated", channel.name),
            ));
        }
        channels.push(validate_channel(&path, channel, lookup)?);
    }

    let mut rules: Vec<RuleConfig> = Vec::with_capacity(raw.rules.len());
    for (i, rule) in raw.rules.into_iter().enumerate() {
        let path = format!("alerts.rules[{i}]");
        if rule.name.is_empty() || rules.iter().any(|r| r.name == rule.name) {
            return Err(invalid(
                format!("{path}.name"),
                format!("rule name `{}` is empty or repeated", rule.name),
            ));
        }
        rules.push(validate_rule(&path, rule, &channels)?);
    }
    Ok(AlertsConfig {
        interval,
        delivery,
        channels,
        rules,
    })
}

fn validate_channel(
    path: &str,
    raw: RawChannel,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ChannelConfig, ConfigError> {
    let url = |raw: &RawChannel| -> Result<Secret, ConfigError> {
        let (field, value) = match (&raw.url, &raw.url_env) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    format!("{path}.url_env"),
                    "set url or url_env, not both",
                ))
            }
            (Some(url), None) => ("url", Secret::new(url.clone())),
            (None, Some(env)) => (
                "url_env",
                env_secret(&format!("{path}.url_env"), env, lookup)?,
            ),
            (None, None) => return Err(invalid(format!("{path}.url"), "is required")),
        };
        match reqwest::Url::parse(value.expose()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(value)
            }
            // The URL may be a secret: the error never repeats it.
            _ => Err(invalid(
                format!("{path}.{field}"),
                "must be an http:// or https:// URL",
            )),
        }
    };
    let unused = |field: &str, present: bool| -> Result<(), ConfigError> {
        if present {
            Err(invalid(
                format!("{path}.{field}"),
                format!("does not apply to a `{}` channel", raw.kind),
            ))
        } else {
            Ok(())
        }
    };
    let target = match raw.kind.as_str() {
        "webhook" | "slack" => {
            unused("smtp_host", raw.smtp_host.is_some())?;
            unused("smtp_port", raw.smtp_port.is_some())?;
            unused("username", raw.username.is_some())?;
            unused("password_env", raw.password_env.is_some())?;
            unused("from", raw.from.is_some())?;
            unused("to", !raw.to.is_empty())?;
            let url = url(&raw)?;
            if raw.kind == "webhook" {
                let Some(env) = &raw.secret_env else {
                    return Err(invalid(
                        format!("{path}.secret_env"),
                        "is required: webhooks are signed",
                    ));
                };
                let secret = env_secret(&format!("{path}.secret_env"), env, lookup)?;
                ChannelTarget::Webhook { url, secret }
            } else {
                unused("secret_env", raw.secret_env.is_some())?;
                ChannelTarget::Slack { url }
            }
        }
        "email" => {
            unused("url", raw.url.is_some())?;
            unused("url_env", raw.url_env.is_some())?;
            unused("secret_env", raw.secret_env.is_some())?;
            let host = raw
                .smtp_host
                .filter(|h| !h.is_empty())
                .ok_or_else(|| invalid(format!("{path}.smtp_host"), "is required"))?;
            let from = raw
                .from
                .ok_or_else(|| invalid(format!("{path}.from"), "is required"))?;
            check_address(&format!("{path}.from"), &from)?;
            if raw.to.is_empty() {
                return Err(invalid(format!("{path}.to"), "needs at least one address"));
            }
            for (j, to) in raw.to.iter().enumerate() {
                check_address(&format!("{path}.to[{j}]"), to)?;
            }
            let login = match (raw.username, raw.password_env) {
                (None, None) => None,
                (Some(user), Some(env)) => Some((
                    user,
                    env_secret(&format!("{path}.password_env"), &env, lookup)?,
                )),
                (Some(_), None) => {
                    return Err(invalid(
                        format!("{path}.password_env"),
                        "is required with username",
                    ))
                }
                (None, Some(_)) => {
                    return Err(invalid(
                        format!("{path}.username"),
                        "is required with password_env",
                    ))
                }
            };
            ChannelTarget::Email(EmailTarget {
                host,
                port: raw.smtp_port.unwrap_or(DEFAULT_SMTP_PORT),
                from,
                to: raw.to,
                login,
            })
        }
        other => {
            return Err(invalid(
                format!("{path}.kind"),
                format!("unknown channel kind `{other}` (webhook, slack or email)"),
            ))
        }
    };
    Ok(ChannelConfig {
        name: raw.name,
        target,
    })
}

fn check_address(path: &str, address: &str) -> Result<(), ConfigError> {
    address
        .parse::<lettre::message::Mailbox>()
        .map(drop)
        .map_err(|error| invalid(path, format!("not an e-mail address: {error}")))
}

fn validate_rule(
    path: &str,
    raw: RawRule,
    channels: &[ChannelConfig],
) -> Result<RuleConfig, ConfigError> {
    if raw.channels.is_empty() {
        return Err(invalid(
            format!("{path}.channels"),
            "needs at least one channel",
        ));
    }
    let mut indices = Vec::with_capacity(raw.channels.len());
    for (j, name) in raw.channels.iter().enumerate() {
        match channels.iter().position(|c| &c.name == name) {
            Some(index) if !indices.contains(&index) => indices.push(index),
            Some(_) => {
                return Err(invalid(
                    format!("{path}.channels[{j}]"),
                    format!("channel `{name}` is listed twice"),
                ))
            }
            None => {
                return Err(invalid(
                    format!("{path}.channels[{j}]"),
                    format!("unknown channel `{name}`"),
                ))
            }
        }
    }
    let only = |field: &str, present: bool, kinds: &str| -> Result<(), ConfigError> {
        if present {
            Err(invalid(
                format!("{path}.{field}"),
                format!("applies to {kinds} rules only"),
            ))
        } else {
            Ok(())
        }
    };
    let kind = raw.kind.as_str();
    if kind != "budget" {
        only("thresholds", raw.thresholds.is_some(), "budget")?;
        only("periods", raw.periods.is_some(), "budget")?;
    }
    if kind != "spend_spike" {
        only("factor", raw.factor.is_some(), "spend_spike")?;
        only("weeks", raw.weeks.is_some(), "spend_spike")?;
        only("min_usd", raw.min_usd.is_some(), "spend_spike")?;
    }
    if kind != "provider_circuit" {
        only("open_for_ms", raw.open_for_ms.is_some(), "provider_circuit")?;
        only("providers", raw.providers.is_some(), "provider_circuit")?;
    }
    if !matches!(kind, "budget" | "spend_spike") {
        only("tenants", raw.tenants.is_some(), "budget and spend_spike")?;
    }
    let kind = match kind {
        "budget" => {
            let mut thresholds = raw.thresholds.unwrap_or_else(|| DEFAULT_THRESHOLDS.to_vec());
            if thresholds.is_empty() {
                return Err(invalid(format!("{path}.thresholds"), "must not be empty"));
            }
            for (j, t) in thresholds.iter().enumerate() {
                if !(1..=1000).contains(t) {
                    return Err(invalid(
                        format!("{path}.thresholds[{j}]"),
                        "must be a percentage from 1 to 1000",
                    ));
                }
            }
            thresholds.sort_unstable();
            thresholds.dedup();
            let periods = match raw.periods {
                None => vec![BudgetPeriod::Daily, BudgetPeriod::Monthly],
                Some(list) if list.is_empty() => {
                    return Err(invalid(format!("{path}.periods"), "must not be empty"))
                }
                Some(list) => list
                    .iter()
                    .enumerate()
                    .map(|(j, p)| match p.as_str() {
                        "daily" => Ok(BudgetPeriod::Daily),
                        "monthly" => Ok(BudgetPeriod::Monthly),
                        other => Err(invalid(
                            format!("{path}.periods[{j}]"),
                            format!("unknown period `{other}` (daily or monthly)"),
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            };
            RuleKind::Budget {
                thresholds,
                periods,
            }
        }
        "spend_spike" => {
            let factor_percent = match raw.factor {
                None => 300,
                Some(amount) => factor_percent(&format!("{path}.factor"), amount)?,
            };
            let weeks = raw.weeks.unwrap_or(DEFAULT_SPIKE_WEEKS);
            if !(1..=12).contains(&weeks) {
                return Err(invalid(format!("{path}.weeks"), "must be 1 to 12"));
            }
            let min = match raw.min_usd {
                None => Cost::parse_usd("1").unwrap_or(Cost::ZERO),
                Some(amount) => usd(&format!("{path}.min_usd"), amount)?,
            };
            RuleKind::SpendSpike {
                factor_percent,
                weeks,
                min,
            }
        }
        "provider_circuit" => RuleKind::ProviderCircuit {
            open_for: Duration::from_millis(raw.open_for_ms.unwrap_or(5 * 60 * 1000)),
            providers: raw.providers,
        },
        "event_drops" => RuleKind::EventDrops,
        other => {
            return Err(invalid(
                format!("{path}.kind"),
                format!(
                    "unknown rule kind `{other}` (budget, spend_spike, provider_circuit or event_drops)"
                ),
            ))
        }
    };
    Ok(RuleConfig {
        name: raw.name,
        kind,
        channels: indices,
        tenants: raw.tenants,
    })
}

/// A factor such as `3` or `"2.5"` in hundredths; at least 1.
fn factor_percent(path: &str, amount: RawAmount) -> Result<u32, ConfigError> {
    let hundredths = match amount {
        RawAmount::Integer(n) => n.checked_mul(100),
        RawAmount::Float(f) if f.is_finite() => Some((f * 100.0).round() as i64),
        RawAmount::Float(_) => None,
        RawAmount::Text(text) => Cost::parse_usd(&text)
            .ok()
            .and_then(|c| i64::try_from(c.0 / 10_000_000_000).ok()),
    };
    match hundredths.and_then(|h| u32::try_from(h).ok()) {
        Some(h) if (100..=100_000).contains(&h) => Ok(h),
        _ => Err(invalid(path, "must be a number from 1 to 1000")),
    }
}

fn usd(path: &str, amount: RawAmount) -> Result<Cost, ConfigError> {
    let text = match amount {
        RawAmount::Text(text) => text,
        RawAmount::Integer(n) => n.to_string(),
        RawAmount::Float(value) => {
            return Err(invalid(
                path,
                format!(
                    "write amounts as decimal text (\"{value}\", not {value}), so they stay exact"
                ),
            ))
        }
    };
    match Cost::parse_usd(&text) {
        Ok(cost) if cost.0 >= 0 => Ok(cost),
        Ok(_) => Err(invalid(path, "must not be negative")),
        Err(error) => Err(invalid(path, format!("{error} (USD)"))),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    use super::*;

    fn load(alerts: &str) -> Result<Config, ConfigError> {
        let lookup = |name: &str| match name {
            "HOOK_SECRET" => Some("s3cret".to_owned()),
            "SLACK_URL" => Some("https://hooks.example.com/services/T/B/X".to_owned()),
            "SMTP_PASSWORD" => Some("pw".to_owned()),
            _ => None,
        };
        Config::from_toml(alerts, Vec::new(), lookup)
    }

    fn error_of(alerts: &str) -> String {
        match load(alerts) {
            Ok(_) => "loaded".to_owned(),
            Err(error) => error.to_string(),
        }
    }

    const CHANNELS: &str = "[[alerts.channels]]\nname = \"hook\"\nkind = \"webhook\"\n\
        url = \"http://127.0.0.1:9/h\"\nsecret_env = \"HOOK_SECRET\"\n\
        [[alerts.channels]]\nname = \"slack\"\nkind = \"slack\"\nurl_env = \"SLACK_URL\"\n\
        [[alerts.channels]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\n\
        smtp_port = 2525\nfrom = \"gw@example.com\"\nto = [\"ops@example.com\"]\n\
        username = \"gw\"\npassword_env = \"SMTP_PASSWORD\"\n";

    #[test]
    fn a_full_section_loads_with_defaults_and_hides_secrets() {
        let text = format!(
            "{CHANNELS}[[alerts.rules]]\nname = \"b\"\nkind = \"budget\"\nchannels = [\"hook\", \"mail\"]\n\
             thresholds = [100, 50]\n\
             [[alerts.rules]]\nname = \"s\"\nkind = \"spend_spike\"\nchannels = [\"slack\"]\nfactor = 2.5\n\
             [[alerts.rules]]\nname = \"c\"\nkind = \"provider_circuit\"\nchannels = [\"hook\"]\nopen_for_ms = 1\n"
        );
        let config = match load(&text) {
            Ok(config) => config,
            Err(error) => panic!("{error}"),
        };
        let alerts = &config.alerts;
        assert_eq!(alerts.interval, Duration::from_secs(30));
        assert_eq!(alerts.delivery.max_attempts, 5);
        assert_eq!(alerts.channels.len(), 3);
        assert_eq!(alerts.rules[0].channels, [0, 2]);
        assert_eq!(
            alerts.rules[0].kind,
            RuleKind::Budget {
                thresholds: vec![50, 100],
                periods: vec![BudgetPeriod::Daily, BudgetPeriod::Monthly]
            }
        );
        assert!(matches!(
            alerts.rules[1].kind,
            RuleKind::SpendSpike {
                factor_percent: 250,
                weeks: 4,
                ..
            }
        ));
        let shown = format!("{alerts:?}");
        for secret in ["s3cret", "hooks.example.com", "pw\""] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn errors_name_the_key_at_fault() {
        let rule = |body: &str| format!("{CHANNELS}[[alerts.rules]]\nname = \"r\"\n{body}\n");
        let cases = [
            (
                rule("kind = \"budget\"\nchannels = [\"nope\"]"),
                "alerts.rules[0].channels[0]",
                "unknown channel",
            ),
            (
                rule("kind = \"budget\"\nchannels = [\"hook\"]\nthresholds = [0]"),
                "alerts.rules[0].thresholds[0]",
                "percentage",
            ),
            (
                rule("kind = \"sometimes\"\nchannels = [\"hook\"]"),
                "alerts.rules[0].kind",
                "unknown rule kind",
            ),
            (
                rule("kind = \"budget\"\nchannels = [\"hook\"]\nfactor = 2"),
                "alerts.rules[0].factor",
                "spend_spike rules only",
            ),
            (
                rule("kind = \"spend_spike\"\nchannels = [\"hook\"]\nmin_usd = 0.5"),
                "alerts.rules[0].min_usd",
                "decimal text",
            ),
            (
                rule("kind = \"spend_spike\"\nchannels = [\"hook\"]\nfactor = 0.5"),
                "alerts.rules[0].factor",
                "from 1 to 1000",
            ),
            (
                "[[alerts.channels]]\nname = \"h\"\nkind = \"webhook\"\nurl = \"http://x/\"".to_owned(),
                "alerts.channels[0].secret_env",
                "signed",
            ),
            (
                "[[alerts.channels]]\nname = \"h\"\nkind = \"webhook\"\nurl = \"http://x/\"\nsecret_env = \"UNSET\"".to_owned(),
                "alerts.channels[0].secret_env",
                "UNSET is not set",
            ),
            (
                "[[alerts.channels]]\nname = \"s\"\nkind = \"slack\"\nurl = \"ftp://secret-place/\"".to_owned(),
                "alerts.channels[0].url",
                "http",
            ),
            (
                "[[alerts.channels]]\nname = \"m\"\nkind = \"email\"\nsmtp_host = \"h\"\nfrom = \"x@y.z\"\nto = [\"not an address\"]".to_owned(),
                "alerts.channels[0].to[0]",
                "e-mail address",
            ),
            (
                "[[alerts.channels]]\nname = \"m\"\nkind = \"fax\"".to_owned(),
                "alerts.channels[0].kind",
                "unknown channel kind",
            ),
            (
                "[alerts]\ninterval_ms = 0".to_owned(),
                "alerts.interval_ms",
                "more than 0",
            ),
            (
                "[alerts]\nintervall_ms = 5".to_owned(),
                "alerts",
                "unknown field",
            ),
        ];
        for (text, path, words) in cases {
            let error = error_of(&text);
            assert!(
                error.contains(&format!("`{path}")) && error.contains(words),
                "{path}: {error}"
            );
            assert!(!error.contains("secret-place"), "{error}");
        }
    }
}
