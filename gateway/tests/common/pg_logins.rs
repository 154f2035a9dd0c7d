//! Login roles made for one test (least-privilege Postgres setups), with
//! databases the test's owner role owns; dropped afterwards with the roles.

use sqlx::Connection;

/// The test server, as a superuser (it makes and drops the roles).
pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Login roles made for one test, with a database the owner owns: `owner`
/// (LOGIN CREATEROLE, not a superuser) exists; `writer` and `reader` are
/// names for the serving logins, made by `gateway migrate --writer-role /
/// --reader-role`. Roles are cluster-wide, so the names are unique per run.
/// [`TestLogins::drop_now`] drops the databases made and the three roles.
/// (A test that panics leaves them; their names say which test made them.)
pub struct TestLogins {
    pub owner: String,
    pub writer: String,
    pub reader: String,
    /// The owner's database.
    pub database: String,
    extra: std::sync::Mutex<Vec<String>>,
}

impl TestLogins {
    pub async fn create(prefix: &str) -> TestLogins {
        let id = gateway::keys::mint().expect("random")[6..22].to_ascii_lowercase();
        let owner = format!("{prefix}_{id}_owner");
        let mut admin = sqlx::PgConnection::connect(ADMIN_URL)
            .await
            .expect("postgres is running");
        let name = format!("{prefix}_{id}");
        // Generated names, never input: safe to splice.
        for statement in [
            format!("CREATE ROLE {owner} LOGIN CREATEROLE"),
            format!("CREATE DATABASE {name} OWNER {owner}"),
        ] {
            sqlx::query(&statement)
                .execute(&mut admin)
                .await
                .expect("create the owner and its database");
        }
        TestLogins {
            writer: format!("{prefix}_{id}_writer"),
            reader: format!("{prefix}_{id}_reader"),
            database: name,
            owner,
            extra: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The URL that logs `role` into the test database.
    pub fn url(&self, role: &str) -> String {
        self.url_in(role, &self.database)
    }

    pub fn url_in(&self, role: &str, database: &str) -> String {
        format!("postgres://{role}@127.0.0.1:5432/{database}")
    }

    /// Another empty database the owner owns; returns its name.
    pub async fn another_database(&self) -> String {
        let name = format!("{}_2", self.database);
        let mut admin = sqlx::PgConnection::connect(ADMIN_URL)
            .await
            .expect("postgres is running");
        sqlx::query(&format!("CREATE DATABASE {name} OWNER {}", self.owner))
            .execute(&mut admin)
            .await
            .expect("create database");
        self.extra.lock().expect("not poisoned").push(name.clone());
        name
    }

    pub async fn drop_now(&self) {
        let Ok(mut admin) = sqlx::PgConnection::connect(ADMIN_URL).await else {
            return;
        };
        let mut databases = self.extra.lock().expect("not poisoned").clone();
        databases.push(self.database.clone());
        for name in databases {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
        for role in [&self.reader, &self.writer, &self.owner] {
            let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {role}"))
                .execute(&mut admin)
                .await;
        }
    }
}
