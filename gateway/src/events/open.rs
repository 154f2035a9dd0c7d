//! Opening the Postgres store with one login per job (README, "Postgres
//! roles"): the owner migrates, the serving login writes events and runs the
//! rollups (a member of `gateway_writer`), the reader login reads tenants (a
//! member of `gateway_reader`).
//!
//! At start, migrations run only when an owner URL is given, or when the
//! serving URL is the only one (a trial: it is the owner). Otherwise the
//! gateway checks that the schema holds its migrations and refuses to start
//! when it is behind. Then the logins are checked ([`assess`]): a reader login
//! that could step outside its tenant is refused; anything short of least
//! privilege is logged as a warning. Not here: the SQLite store, which has no
//! logins.

use analytics::store::postgres::{problems, LoginFacts, PoolSettings, PostgresStore, Side};
use analytics::store::{Store, StoreError};

use crate::config::PostgresLogins;

/// A store that could not be opened, or logins the gateway will not serve with.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Logins(String),
}

/// Who brings the schema up to date at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Migrations {
    /// `owner_url` migrates.
    Owner,
    /// The serving URL is the only one: it is the owner (a trial setup).
    ServingLogin,
    /// Least-privilege logins only: check the schema, never change it.
    CheckOnly,
}

pub(crate) fn migrations(logins: &PostgresLogins) -> Migrations {
    match (&logins.owner_url, &logins.reader_url) {
        (Some(_), _) => Migrations::Owner,
        (None, None) => Migrations::ServingLogin,
        (None, Some(_)) => Migrations::CheckOnly,
    }
}

/// What the gateway makes of its logins: warnings to log, or a refusal.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Assessment {
    pub warnings: Vec<String>,
    pub refusal: Option<String>,
}

/// Judges the serving login (`writer`) and, when tenant reads have a login
/// of their own, that one (`reader`).
pub(crate) fn assess(writer: &LoginFacts, reader: Option<&LoginFacts>) -> Assessment {
    let mut out = Assessment::default();
    let mut refuse = |text: String| {
        out.refusal.get_or_insert(text);
    };
    let mut warnings = Vec::new();
    for problem in problems(Side::Writer, writer) {
        let text = format!(
            "the serving login `{}` (analytics.database_url) {}",
            writer.name, problem.text
        );
        if problem.blocking {
            refuse(text);
        } else {
            warnings.push(format!("{text}: more than it needs (not least privilege)"));
        }
    }
    match reader {
        Some(reader) => {
            if let Some(problem) = problems(Side::Reader, reader).first() {
                refuse(format!(
                    "the reader login `{}` (analytics.reader_database_url) {}: tenant \
                     isolation would not hold, so the gateway does not serve with it \
                     (README, \"Postgres roles\")",
                    reader.name, problem.text
                ));
            }
        }
        None if !writer.reader => refuse(format!(
            "tenant reads need a reader login: set analytics.reader_database_url (or \
             DATABASE_READER_URL) to a member of gateway_reader; the serving login `{}` \
             may not SET ROLE gateway_reader",
            writer.name
        )),
        None => warnings.push(format!(
            "tenant reads run as the serving login `{}` switched to gateway_reader: an \
             injected RESET ROLE would return to it. Fine for a trial; for production \
             set analytics.reader_database_url (DATABASE_READER_URL) to a login that is \
             a member of gateway_reader only (README, \"Postgres roles\")",
            writer.name
        )),
    }
    out.warnings = warnings;
    out
}

/// Migrates (or checks the schema), connects with the serving and reader
/// logins, and checks them.
pub(crate) async fn open(
    logins: &PostgresLogins,
    settings: PoolSettings,
) -> Result<Store, OpenError> {
    let plan = migrations(logins);
    let mut applied = Vec::new();
    if let (Migrations::Owner, Some(owner)) = (plan, &logins.owner_url) {
        applied = migrate(owner.expose()).await?;
    }
    let mut store = PostgresStore::connect_with(logins.url.expose(), settings).await?;
    match plan {
        Migrations::Owner => {}
        Migrations::ServingLogin => applied = store.migrate().await?,
        Migrations::CheckOnly => store.check_schema().await?,
    }
    if let Some(reader) = &logins.reader_url {
        store = store.with_reader_login(reader.expose())?;
    }
    let writer = store.writer_login().await?;
    let reader = match &logins.reader_url {
        Some(_) => Some(store.reader_login().await?),
        None => None,
    };
    let assessment = assess(&writer, reader.as_ref());
    for warning in &assessment.warnings {
        tracing::warn!("analytics store: {warning}");
    }
    if let Some(refusal) = assessment.refusal {
        return Err(OpenError::Logins(refusal));
    }
    let store = Store::Postgres(store);
    store.after_migrations(&applied).await;
    Ok(store)
}

/// Applies the migrations as the login of `owner_url` (the tables' owner).
pub(crate) async fn migrate(owner_url: &str) -> Result<Vec<i64>, StoreError> {
    let owner = PostgresStore::connect(owner_url).await?;
    let applied = owner.migrate().await;
    owner.pool().close().await;
    applied
}

/// What `gateway migrate` did.
#[derive(Debug)]
pub struct MigrateReport {
    /// Versions applied now (empty: the schema was current).
    pub applied: Vec<i64>,
    /// The logins made or granted, with what is wrong with each.
    pub logins: Vec<(Side, LoginFacts, Vec<analytics::store::postgres::Problem>)>,
}

/// `gateway migrate` on Postgres: migrates as `owner_url`, then makes
/// `writer_role` and `reader_role` (created when missing) members of their
/// group roles.
pub async fn migrate_and_grant(
    owner_url: &str,
    writer_role: Option<&str>,
    reader_role: Option<&str>,
) -> Result<MigrateReport, StoreError> {
    let owner = PostgresStore::connect(owner_url).await?;
    let outcome = async {
        let applied = owner.migrate().await?;
        Store::Postgres(owner.clone())
            .after_migrations(&applied)
            .await;
        let mut logins = Vec::new();
        for (side, role) in [(Side::Writer, writer_role), (Side::Reader, reader_role)] {
            if let Some(role) = role {
                let facts = owner.grant_login(side, role).await?;
                let found = problems(side, &facts);
                logins.push((side, facts, found));
            }
        }
        Ok(MigrateReport { applied, logins })
    }
    .await;
    owner.pool().close().await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn logins(owner: bool, reader: bool) -> PostgresLogins {
        let url = |name: &str| Secret::new(format!("postgres://{name}@db/gw"));
        PostgresLogins {
            url: url("serve"),
            owner_url: owner.then(|| url("owner")),
            reader_url: reader.then(|| url("reader")),
        }
    }

    #[test]
    fn only_an_owner_or_a_lone_url_migrates() {
        assert_eq!(migrations(&logins(true, true)), Migrations::Owner);
        assert_eq!(migrations(&logins(true, false)), Migrations::Owner);
        assert_eq!(migrations(&logins(false, false)), Migrations::ServingLogin);
        assert_eq!(migrations(&logins(false, true)), Migrations::CheckOnly);
    }

    fn facts(name: &str) -> LoginFacts {
        LoginFacts {
            name: name.to_owned(),
            ..LoginFacts::default()
        }
    }

    #[test]
    fn least_privilege_logins_pass_quietly() {
        let writer = LoginFacts {
            writer: true,
            ..facts("gw_serve")
        };
        let reader = LoginFacts {
            reader: true,
            ..facts("gw_read")
        };
        assert_eq!(assess(&writer, Some(&reader)), Assessment::default());
    }

    #[test]
    fn a_single_url_is_served_with_a_warning() {
        // The trial setup: a superuser or owner that may SET ROLE gateway_reader.
        let owner = LoginFacts {
            superuser: true,
            owner: true,
            writer: true,
            reader: true,
            ..facts("postgres")
        };
        let found = assess(&owner, None);
        assert_eq!(found.refusal, None);
        assert_eq!(found.warnings.len(), 2, "{found:?}");
        assert!(found.warnings[0].contains("superuser"), "{found:?}");
        assert!(
            found.warnings[1].contains("RESET ROLE")
                && found.warnings[1].contains("reader_database_url"),
            "{found:?}"
        );
    }

    #[test]
    fn an_unsafe_or_missing_reader_is_refused() {
        let writer = LoginFacts {
            writer: true,
            ..facts("gw_serve")
        };
        let owner_as_reader = LoginFacts {
            owner: true,
            reader: true,
            ..facts("gw_owner")
        };
        let refusal = assess(&writer, Some(&owner_as_reader)).refusal.unwrap();
        assert!(
            refusal.contains("gw_owner") && refusal.contains("owns the tables"),
            "{refusal}"
        );
        // No reader URL, and the serving login may not become gateway_reader.
        let refusal = assess(&writer, None).refusal.unwrap();
        assert!(refusal.contains("reader_database_url"), "{refusal}");
        // A serving login that can write nothing.
        let reader = LoginFacts {
            reader: true,
            ..facts("gw_read")
        };
        let refusal = assess(&facts("nobody"), Some(&reader)).refusal.unwrap();
        assert!(refusal.contains("gateway_writer"), "{refusal}");
    }
}
