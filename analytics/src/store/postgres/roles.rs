//! The logins the store serves with, against the least-privilege setup of
//! migration `20261208100000_least_privilege`: the writer login (the system
//! side: events, rollups, partitions) is a member of `gateway_writer`, the
//! reader login (tenant reads) of `gateway_reader`; neither owns the tables,
//! can become their owner, bypasses Row-Level Security (itself or through a
//! role it may SET ROLE to) or may grant itself more. [`problems`] says, for one login, what breaks that; `gateway serve`
//! refuses a reader login with any problem and warns about the rest.
//!
//! Also here: [`PostgresStore::grant_login`], which `gateway migrate
//! --writer-role/--reader-role` runs as the owner to create and grant them.

use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, Row};

use super::PostgresStore;
use crate::store::StoreError;

/// Which side of the gateway a login serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Event writes, rollups, retention, partitions, reader grants.
    Writer,
    /// Tenant reads.
    Reader,
}

impl Side {
    /// The group role that carries this side's rights.
    pub fn group(self) -> &'static str {
        match self {
            Side::Writer => "gateway_writer",
            Side::Reader => "gateway_reader",
        }
    }
}

/// What Postgres says about one login role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginFacts {
    pub name: String,
    pub superuser: bool,
    pub bypass_rls: bool,
    pub create_role: bool,
    /// Owns the tables, or may SET ROLE to their owner.
    pub owner: bool,
    /// May SET ROLE to (or inherits) `gateway_writer`.
    pub writer: bool,
    /// May SET ROLE to (or inherits) `gateway_reader`.
    pub reader: bool,
    /// May create objects in the gateway's schema.
    pub create_in_schema: bool,
    /// A member of `pg_read_all_data` or `pg_write_all_data`.
    pub all_data: bool,
}

/// One thing a login may do that its side should not (or cannot do what it
/// must).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The login cannot do its side's work at all.
    pub blocking: bool,
    pub text: &'static str,
}

/// The login's attributes count with those of every role it may SET ROLE
/// to (a member of a BYPASSRLS role can become it).
const FACTS: &str = "
SELECT r.rolname::text AS name,
       bool_or(g.rolsuper) AS superuser, bool_or(g.rolbypassrls) AS bypass_rls,
       bool_or(g.rolcreaterole) AS create_role,
       pg_has_role(r.oid, t.relowner, 'MEMBER') AS owner,
       pg_has_role(r.oid, 'gateway_writer', 'MEMBER') AS writer,
       pg_has_role(r.oid, 'gateway_reader', 'MEMBER') AS reader,
       has_schema_privilege(r.oid, t.relnamespace, 'CREATE') AS create_in_schema,
       coalesce(pg_has_role(r.oid, to_regrole('pg_read_all_data'), 'MEMBER'), false)
           OR coalesce(pg_has_role(r.oid, to_regrole('pg_write_all_data'), 'MEMBER'), false)
           AS all_data
FROM pg_roles r
JOIN pg_roles g ON pg_has_role(r.oid, g.oid, 'MEMBER')
CROSS JOIN pg_class t
WHERE r.rolname = $1 AND t.oid = 'usage_events'::regclass
GROUP BY r.rolname, r.oid, t.relowner, t.relnamespace";

/// What is wrong with `facts` for `side`; empty for a least-privilege login.
/// For the reader every problem breaks tenant isolation; for the writer only
/// a login that cannot write is blocking, the rest is more power than needed.
pub fn problems(side: Side, facts: &LoginFacts) -> Vec<Problem> {
    let reader = side == Side::Reader;
    let mut out = Vec::new();
    let mut add = |found: bool, blocking: bool, text: &'static str| {
        if found {
            out.push(Problem { blocking, text });
        }
    };
    add(
        facts.superuser,
        reader,
        "is a superuser (it bypasses Row-Level Security)",
    );
    add(
        facts.bypass_rls && !facts.superuser,
        reader,
        "has BYPASSRLS (it bypasses Row-Level Security)",
    );
    add(
        facts.owner && !facts.superuser,
        reader,
        "owns the tables or may SET ROLE to their owner",
    );
    add(
        facts.create_role && !facts.superuser,
        reader,
        "has CREATEROLE (it may grant itself any group role)",
    );
    add(
        facts.create_in_schema && !facts.superuser && !facts.owner,
        reader,
        "may create objects in the gateway's schema (before Postgres 15 PUBLIC may create in \
         `public`: REVOKE CREATE ON SCHEMA public FROM PUBLIC)",
    );
    add(
        facts.all_data && !facts.superuser,
        reader,
        "is a member of pg_read_all_data or pg_write_all_data",
    );
    let privileged = facts.superuser || facts.owner;
    match side {
        Side::Reader => {
            add(
                facts.writer && !privileged,
                true,
                "may SET ROLE gateway_writer (every tenant's rows)",
            );
            add(
                !facts.reader,
                true,
                "is not a member of gateway_reader (tenant reads need it)",
            );
        }
        Side::Writer => add(
            !facts.writer && !privileged,
            true,
            "is not a member of gateway_writer (event writes and rollups need it)",
        ),
    }
    out
}

impl PostgresStore {
    /// The writer side's login (the system pool's session user).
    pub async fn writer_login(&self) -> Result<LoginFacts, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::from_sqlx)?;
        facts_of_session(&mut conn).await
    }

    /// The reader side's login, from a connection of its own that binds no
    /// tenant.
    pub async fn reader_login(&self) -> Result<LoginFacts, StoreError> {
        let mut conn = PgConnection::connect_with(self.readers.options())
            .await
            .map_err(StoreError::from_sqlx)?;
        let facts = facts_of_session(&mut conn).await;
        let _ = conn.close().await;
        facts
    }

    /// As the owner: makes `role` a login of `side`, creating it (LOGIN, no
    /// password: set one with `ALTER ROLE ... PASSWORD` or use certificate or
    /// peer authentication) when it does not exist, and granting it the side's
    /// group role. Returns what Postgres then says about it; check it with
    /// [`problems`].
    pub async fn grant_login(&self, side: Side, role: &str) -> Result<LoginFacts, StoreError> {
        if role.is_empty() || role.len() > 63 {
            return Err(StoreError::Rejected(format!(
                "a role name has 1 to 63 bytes: `{role}`"
            )));
        }
        let mut conn = self.pool.acquire().await.map_err(StoreError::from_sqlx)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(role)
                .fetch_one(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
        // The statements are built by Postgres' own quoting (format %I).
        let mut statements = Vec::new();
        if !exists {
            statements.push("SELECT format('CREATE ROLE %I LOGIN', $1::text)");
        }
        statements.push(match side {
            Side::Writer => "SELECT format('GRANT gateway_writer TO %I', $1::text)",
            Side::Reader => "SELECT format('GRANT gateway_reader TO %I', $1::text)",
        });
        for quoting in statements {
            let statement: String = sqlx::query_scalar(quoting)
                .bind(role)
                .fetch_one(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
            sqlx::query(&statement)
                .execute(&mut *conn)
                .await
                .map_err(|err| {
                    StoreError::Rejected(format!("{statement}: {}", StoreError::from_sqlx(err)))
                })?;
        }
        facts_of(&mut conn, role).await
    }
}

async fn facts_of_session(conn: &mut PgConnection) -> Result<LoginFacts, StoreError> {
    let login: String = sqlx::query_scalar("SELECT session_user::text")
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    facts_of(conn, &login).await
}

async fn facts_of(conn: &mut PgConnection, role: &str) -> Result<LoginFacts, StoreError> {
    let row = sqlx::query(FACTS)
        .bind(role)
        .fetch_one(conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    let read = |row: &PgRow| -> Result<LoginFacts, sqlx::Error> {
        Ok(LoginFacts {
            name: row.try_get("name")?,
            superuser: row.try_get("superuser")?,
            bypass_rls: row.try_get("bypass_rls")?,
            create_role: row.try_get("create_role")?,
            owner: row.try_get("owner")?,
            writer: row.try_get("writer")?,
            reader: row.try_get("reader")?,
            create_in_schema: row.try_get("create_in_schema")?,
            all_data: row.try_get("all_data")?,
        })
    };
    read(&row).map_err(StoreError::from_sqlx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(side: Side, facts: &LoginFacts) -> Vec<(bool, &'static str)> {
        problems(side, facts)
            .into_iter()
            .map(|p| (p.blocking, p.text))
            .collect()
    }

    #[test]
    fn a_least_privilege_login_has_no_problem() {
        let reader = LoginFacts {
            reader: true,
            ..LoginFacts::default()
        };
        assert!(problems(Side::Reader, &reader).is_empty());
        let writer = LoginFacts {
            writer: true,
            ..LoginFacts::default()
        };
        assert!(problems(Side::Writer, &writer).is_empty());
    }

    #[test]
    fn every_way_out_of_the_reader_role_is_blocking() {
        let base = LoginFacts {
            reader: true,
            ..LoginFacts::default()
        };
        let cases: [(LoginFacts, &str); 8] = [
            (
                LoginFacts {
                    superuser: true,
                    bypass_rls: true,
                    owner: true,
                    writer: true,
                    create_role: true,
                    create_in_schema: true,
                    all_data: true,
                    ..base.clone()
                },
                "superuser",
            ),
            (
                LoginFacts {
                    bypass_rls: true,
                    ..base.clone()
                },
                "BYPASSRLS",
            ),
            (
                LoginFacts {
                    owner: true,
                    writer: true,
                    ..base.clone()
                },
                "owns the tables",
            ),
            (
                LoginFacts {
                    create_role: true,
                    ..base.clone()
                },
                "CREATEROLE",
            ),
            (
                LoginFacts {
                    writer: true,
                    ..base.clone()
                },
                "gateway_writer",
            ),
            (
                LoginFacts {
                    create_in_schema: true,
                    ..base.clone()
                },
                "create objects",
            ),
            (
                LoginFacts {
                    all_data: true,
                    ..base.clone()
                },
                "pg_read_all_data",
            ),
            (LoginFacts::default(), "not a member of gateway_reader"),
        ];
        for (facts, expected) in cases {
            let found = texts(Side::Reader, &facts);
            // A superuser is one problem, not four.
            assert_eq!(found.len(), 1, "{facts:?}: {found:?}");
            assert!(found[0].0, "{facts:?}: {found:?}");
            assert!(found[0].1.contains(expected), "{facts:?}: {found:?}");
        }
    }

    #[test]
    fn a_powerful_writer_is_a_warning_and_a_powerless_one_is_blocking() {
        let owner = LoginFacts {
            owner: true,
            create_in_schema: true,
            ..LoginFacts::default()
        };
        assert_eq!(
            texts(Side::Writer, &owner),
            [(false, "owns the tables or may SET ROLE to their owner")]
        );
        let superuser = LoginFacts {
            superuser: true,
            bypass_rls: true,
            owner: true,
            writer: true,
            reader: true,
            ..LoginFacts::default()
        };
        assert_eq!(
            texts(Side::Writer, &superuser),
            [(false, "is a superuser (it bypasses Row-Level Security)")]
        );
        let nobody = LoginFacts::default();
        let found = texts(Side::Writer, &nobody);
        assert_eq!(found.len(), 1);
        assert!(found[0].0 && found[0].1.contains("gateway_writer"));
    }
}
