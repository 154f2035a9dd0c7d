//! A throwaway Postgres database per test, dropped afterwards, so tests run in
//! parallel against the machine's real Postgres and leave nothing behind.

use sqlx::Connection;

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create(prefix: &str) -> TestDb {
        let name = format!(
            "{prefix}_{}",
            gateway::keys::mint().expect("random")[6..22].to_ascii_lowercase()
        );
        let mut admin = sqlx::PgConnection::connect(ADMIN_URL)
            .await
            .expect("postgres is running");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create database");
        TestDb {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        }
    }

    pub async fn drop_now(&self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(ADMIN_URL).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await;
        }
    }
}
