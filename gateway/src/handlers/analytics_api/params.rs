//! The query string of the analytics endpoints, checked in one place. Every
//! problem is a 400 naming the parameter: an unknown or repeated parameter, a
//! date that is not `YYYY-MM-DD`, `from` after `to`, a range over
//! [`MAX_RANGE_DAYS`], an unknown `format`, `interval` or `by`.
//!
//! Common parameters:
//! - `from`, `to`: UTC days, both included. Defaults: `to` today, `from` 29 days
//!   before `to` (30 days in all).
//! - `team`, `key`, `model` (requested or routed), `provider`: filters; an empty
//!   value means no filter.
//! - `tenant`: whose figures. Admin keys may name any tenant; other keys may
//!   name only their own (another tenant is a 403, so a page never shows one
//!   tenant's figures under another's name). Default: the key's tenant.
//!
//! Within its tenant a key reads what its [`AnalyticsScope`] allows
//! ([`Scope`]): an API key its own team's figures (its own, without a team)
//! unless its config says `analytics = "tenant"`. The scope is applied as a
//! filter nobody can widen: `team` or `key` naming another team or key is a
//! 403.
//! - `format`: `json` (default) or `csv`; without it, `Accept: text/csv` asks
//!   for CSV.

use axum::extract::Query;
use axum::http::{header, HeaderMap, Uri};
use chrono::{Days, NaiveDate};

use analytics::store::queries::Filter;

use crate::config::{AnalyticsScope, KeyRole};
use crate::error::GatewayError;
use crate::keys::ApiKey;

/// Longest range one request may cover (ten years).
pub const MAX_RANGE_DAYS: u64 = 3660;
/// Days in the default range.
pub const DEFAULT_RANGE_DAYS: u64 = 30;
/// Longest filter value; stored names are at most 128 bytes.
const MAX_VALUE_LEN: usize = 256;

/// Parameters of every endpoint.
pub const SCOPE: &[&str] = &["tenant", "format"];
/// Parameters of every endpoint that reads a range of days.
pub const RANGE: &[&str] = &["from", "to", "team", "key", "model", "provider"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// The rows of its tenant a request may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Tenant,
    /// One team's rows.
    Team(String),
    /// One key's rows.
    Key(String),
}

impl Scope {
    /// What `key` may read of `tenant` (which it was allowed to name).
    pub(crate) fn of(key: &ApiKey, tenant: &str) -> Scope {
        if tenant != key.tenant {
            // An admin key naming another tenant.
            return Scope::Tenant;
        }
        match (key.analytics, &key.team) {
            (AnalyticsScope::Tenant, _) => Scope::Tenant,
            (AnalyticsScope::Team, Some(team)) => Scope::Team(team.clone()),
            (AnalyticsScope::Team | AnalyticsScope::Key, _) => Scope::Key(key.id.clone()),
        }
    }

    /// The filter that keeps this scope's rows.
    pub(crate) fn filter(&self) -> Filter {
        match self {
            Scope::Tenant => Filter::default(),
            Scope::Team(team) => Filter {
                team: Some(team.clone()),
                ..Filter::default()
            },
            Scope::Key(key) => Filter {
                key: Some(key.clone()),
                ..Filter::default()
            },
        }
    }
}

/// A request's checked parameters.
#[derive(Debug)]
pub struct Params {
    values: Vec<(&'static str, String)>,
    /// The tenant whose figures are read.
    pub tenant: String,
    /// Which of the tenant's rows.
    pub scope: Scope,
    pub format: Format,
}

impl Params {
    /// Reads the query of `uri`, allowing [`SCOPE`] and `allowed`.
    pub fn parse(
        uri: &Uri,
        headers: &HeaderMap,
        key: &ApiKey,
        allowed: &[&[&'static str]],
    ) -> Result<Params, GatewayError> {
        let pairs: Query<Vec<(String, String)>> = Query::try_from_uri(uri)
            .map_err(|_| GatewayError::invalid("The query string could not be read.", None))?;
        let known = || SCOPE.iter().chain(allowed.iter().copied().flatten());
        let mut values: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in pairs.0 {
            let Some(&known_name) = known().find(|known| **known == name) else {
                let accepted: Vec<&str> = known().copied().collect();
                return Err(GatewayError::invalid(
                    format!(
                        "Unknown query parameter `{}`; this endpoint takes: {}.",
                        super::super::echo(&name),
                        accepted.join(", ")
                    ),
                    None,
                ));
            };
            if values.iter().any(|(seen, _)| *seen == known_name) {
                return Err(GatewayError::invalid(
                    format!("The query parameter `{known_name}` is given more than once."),
                    Some(known_name),
                ));
            }
            if value.len() > MAX_VALUE_LEN {
                return Err(GatewayError::invalid(
                    format!("`{known_name}` is longer than {MAX_VALUE_LEN} bytes."),
                    Some(known_name),
                ));
            }
            values.push((known_name, value));
        }
        let mut params = Params {
            values,
            tenant: key.tenant.clone(),
            scope: Scope::Tenant,
            format: Format::Json,
        };
        params.format = params.format(headers)?;
        params.tenant = params.tenant(key)?;
        params.scope = Scope::of(key, &params.tenant);
        params.check_scope()?;
        Ok(params)
    }

    /// A `team` or `key` filter outside the scope is refused (it would read
    /// nothing, but silently: the page would show zeros as if true).
    fn check_scope(&self) -> Result<(), GatewayError> {
        match &self.scope {
            Scope::Team(team) if self.get("team").is_some_and(|asked| asked != team) => {
                Err(GatewayError::Forbidden(
                    "another team's analytics (it reads its own team's; `analytics = \"tenant\"` \
                     in its config widens that)",
                ))
            }
            Scope::Key(key) if self.get("key").is_some_and(|asked| asked != key) => {
                Err(GatewayError::Forbidden(
                    "another key's analytics (it reads its own; `analytics = \"tenant\"` in its \
                     config widens that)",
                ))
            }
            _ => Ok(()),
        }
    }

    /// A parameter's value; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// `from..=to`, defaults applied and checked.
    pub fn range(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), GatewayError> {
        let to = match self.get("to") {
            Some(text) => date(text, "to")?,
            None => today,
        };
        let from = match self.get("from") {
            Some(text) => date(text, "from")?,
            None => to
                .checked_sub_days(Days::new(DEFAULT_RANGE_DAYS - 1))
                .unwrap_or(NaiveDate::MIN),
        };
        if from > to {
            return Err(GatewayError::invalid(
                format!("`from` ({from}) is after `to` ({to})."),
                Some("from"),
            ));
        }
        let days = u64::try_from((to - from).num_days()).unwrap_or(u64::MAX);
        if days >= MAX_RANGE_DAYS {
            return Err(GatewayError::invalid(
                format!("The range from `from` to `to` may cover at most {MAX_RANGE_DAYS} days."),
                Some("from"),
            ));
        }
        Ok((from, to))
    }

    /// The filters given, narrowed to the scope.
    pub fn filter(&self) -> Filter {
        let owned = |name: &str| self.get(name).map(str::to_owned);
        let mut filter = Filter {
            team: owned("team"),
            key: owned("key"),
            model: owned("model"),
            provider: owned("provider"),
        };
        match &self.scope {
            Scope::Tenant => {}
            Scope::Team(team) => filter.team = Some(team.clone()),
            Scope::Key(key) => filter.key = Some(key.clone()),
        }
        filter
    }

    /// The value of `name`, one of `choices`; `default` when absent.
    pub fn choice<T: Copy>(
        &self,
        name: &'static str,
        choices: &[(&str, T)],
        default: Option<T>,
    ) -> Result<T, GatewayError> {
        let names = || {
            choices
                .iter()
                .map(|(text, _)| *text)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.get(name) {
            None => default.ok_or_else(|| {
                GatewayError::invalid(
                    format!("`{name}` is required: one of {}.", names()),
                    Some(name),
                )
            }),
            Some(text) => choices
                .iter()
                .find(|(choice, _)| *choice == text)
                .map(|(_, value)| *value)
                .ok_or_else(|| {
                    GatewayError::invalid(
                        format!(
                            "`{name}` must be one of {}, not `{}`.",
                            names(),
                            super::super::echo(text)
                        ),
                        Some(name),
                    )
                }),
        }
    }

    fn format(&self, headers: &HeaderMap) -> Result<Format, GatewayError> {
        let accept_csv = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.to_ascii_lowercase().contains("text/csv"));
        let default = if accept_csv {
            Format::Csv
        } else {
            Format::Json
        };
        self.choice(
            "format",
            &[("json", Format::Json), ("csv", Format::Csv)],
            Some(default),
        )
    }

    fn tenant(&self, key: &ApiKey) -> Result<String, GatewayError> {
        match self.get("tenant") {
            None => Ok(key.tenant.clone()),
            Some(tenant) if tenant == key.tenant || key.role == KeyRole::Admin => {
                Ok(tenant.to_owned())
            }
            Some(_) => Err(GatewayError::Forbidden(
                "another tenant's analytics (only admin keys may pass `tenant`)",
            )),
        }
    }
}

fn date(text: &str, name: &'static str) -> Result<NaiveDate, GatewayError> {
    let parsed = (text.len() == 10)
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten();
    parsed.ok_or_else(|| {
        GatewayError::invalid(
            format!(
                "`{name}` must be a date as YYYY-MM-DD, not `{}`.",
                super::super::echo(text)
            ),
            Some(name),
        )
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::routing::Policy;

    fn key(role: KeyRole) -> ApiKey {
        ApiKey {
            id: "k".into(),
            tenant: "acme".into(),
            team: None,
            role,
            analytics: AnalyticsScope::Tenant,
            policy: Policy::default(),
            allowances: crate::allowance::Allowances::default(),
            life: crate::keys::KeyLife::default(),
        }
    }

    fn parse(query: &str, role: KeyRole) -> Result<Params, GatewayError> {
        let uri: Uri = format!("/x?{query}").parse().unwrap();
        Params::parse(&uri, &HeaderMap::new(), &key(role), &[RANGE, &["by"]])
    }

    fn param_of(error: GatewayError) -> Option<&'static str> {
        match error {
            GatewayError::InvalidRequest { param, .. } => param,
            other => panic!("not a 400: {other:?}"),
        }
    }

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_default_and_are_checked() {
        let today = d("2026-11-25");
        let params = parse("", KeyRole::Api).unwrap();
        assert_eq!(params.range(today).unwrap(), (d("2026-10-27"), today));
        let params = parse("from=2026-11-01&to=2026-11-30", KeyRole::Api).unwrap();
        assert_eq!(
            params.range(today).unwrap(),
            (d("2026-11-01"), d("2026-11-30"))
        );
        for (query, param) in [
            ("from=2026-13-01", "from"),
            ("to=yesterday", "to"),
            ("from=2026-11-1", "from"),
            ("from=2026-11-26&to=2026-11-25", "from"),
            ("from=2000-01-01&to=2026-01-01", "from"),
        ] {
            let error = parse(query, KeyRole::Api)
                .unwrap()
                .range(today)
                .unwrap_err();
            assert_eq!(param_of(error), Some(param), "{query}");
        }
    }

    #[test]
    fn unknown_repeated_and_bad_choices_are_400s() {
        let error = parse("form=2026-11-01", KeyRole::Api).unwrap_err();
        assert!(error.to_string().contains("`form`"), "{error}");
        let error = parse("team=a&team=b", KeyRole::Api).unwrap_err();
        assert_eq!(param_of(error), Some("team"));
        let error = parse("format=xml", KeyRole::Api).unwrap_err();
        assert_eq!(param_of(error), Some("format"));
        let params = parse("by=nope", KeyRole::Api).unwrap();
        let error = params.choice("by", &[("team", 1)], None).unwrap_err();
        assert_eq!(param_of(error), Some("by"));
        let params = parse("", KeyRole::Api).unwrap();
        assert!(params.choice("by", &[("team", 1)], None).is_err());
    }

    #[test]
    fn filters_and_formats() {
        let params = parse("team=platform&model=&provider=openai", KeyRole::Api).unwrap();
        assert_eq!(
            params.filter(),
            Filter {
                team: Some("platform".into()),
                provider: Some("openai".into()),
                ..Filter::default()
            }
        );
        assert_eq!(params.format, Format::Json);
        assert_eq!(
            parse("format=csv", KeyRole::Api).unwrap().format,
            Format::Csv
        );
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/csv"));
        let uri: Uri = "/x".parse().unwrap();
        let params = Params::parse(&uri, &headers, &key(KeyRole::Dashboard), &[]).unwrap();
        assert_eq!(params.format, Format::Csv);
    }

    /// An API key reads its team's rows (its own without a team) unless its
    /// config grants the tenant's; naming another team or key is a 403.
    #[test]
    fn api_keys_read_their_team_or_their_own_rows() {
        let scoped = |team: Option<&str>, analytics, role| ApiKey {
            team: team.map(str::to_owned),
            analytics,
            ..key(role)
        };
        let parse_as = |key: &ApiKey, query: &str| {
            let uri: Uri = format!("/x?{query}").parse().unwrap();
            Params::parse(&uri, &HeaderMap::new(), key, &[RANGE])
        };
        let team_key = scoped(Some("web"), AnalyticsScope::Team, KeyRole::Api);
        let own_key = scoped(None, AnalyticsScope::Key, KeyRole::Api);
        let tenant_key = scoped(Some("web"), AnalyticsScope::Tenant, KeyRole::Api);
        let admin = scoped(None, AnalyticsScope::Tenant, KeyRole::Admin);
        let filter = |team: Option<&str>, key: Option<&str>, model: Option<&str>| Filter {
            team: team.map(str::to_owned),
            key: key.map(str::to_owned),
            model: model.map(str::to_owned),
            provider: None,
        };
        let cases: [(&ApiKey, &str, Filter); 8] = [
            (&team_key, "", filter(Some("web"), None, None)),
            (
                &team_key,
                "team=web&key=k9",
                filter(Some("web"), Some("k9"), None),
            ),
            (
                &team_key,
                "team=&model=m",
                filter(Some("web"), None, Some("m")),
            ),
            (&own_key, "", filter(None, Some("k"), None)),
            (
                &own_key,
                "team=web&key=k",
                filter(Some("web"), Some("k"), None),
            ),
            (&tenant_key, "team=data", filter(Some("data"), None, None)),
            (&admin, "", filter(None, None, None)),
            (&admin, "tenant=globex", filter(None, None, None)),
        ];
        for (key, query, expected) in cases {
            let params = parse_as(key, query).unwrap();
            assert_eq!(params.filter(), expected, "{:?} {query}", key.analytics);
        }
        for (key, query) in [(&team_key, "team=data"), (&own_key, "key=other")] {
            let error = parse_as(key, query).unwrap_err();
            assert!(
                matches!(error, GatewayError::Forbidden(_)),
                "{query}: {error:?}"
            );
        }
        assert_eq!(
            parse_as(&team_key, "").unwrap().scope,
            Scope::Team("web".into())
        );
    }

    #[test]
    fn only_admins_name_another_tenant() {
        assert_eq!(parse("", KeyRole::Api).unwrap().tenant, "acme");
        assert_eq!(
            parse("tenant=acme", KeyRole::Dashboard).unwrap().tenant,
            "acme"
        );
        assert_eq!(
            parse("tenant=globex", KeyRole::Admin).unwrap().tenant,
            "globex"
        );
        for role in [KeyRole::Api, KeyRole::Dashboard] {
            let error = parse("tenant=globex", role).unwrap_err();
            assert!(matches!(error, GatewayError::Forbidden(_)), "{error:?}");
        }
    }
}
