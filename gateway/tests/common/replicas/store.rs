//! What the store holds: the cluster's events and their exact costs, read as
//! the tables' owner (Row-Level Security does not apply), and the wait for
//! every request's event to arrive.

use std::time::{Duration, Instant};

use pricing::Cost;
use sqlx::{Connection, Row};

use super::Cluster;

impl Cluster {
    /// A connection to the cluster's database (as its owner: RLS does not apply).
    pub async fn pg(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.db.url)
            .await
            .expect("postgres")
    }

    /// Waits until the store holds `expected` events of the tenant (every
    /// request leaves one, refused ones included); returns the count found.
    pub async fn wait_for_events(&self, expected: i64, within: Duration) -> i64 {
        let deadline = Instant::now() + within;
        let mut pg = self.pg().await;
        loop {
            let count: i64 = sqlx::query("SELECT count(*) FROM usage_events WHERE tenant_id = $1")
                .bind(&self.tenant)
                .fetch_one(&mut pg)
                .await
                .expect("count events")
                .get(0);
            if count >= expected || Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The tenant's settled spend in the store: the sum of `cost_usd`, exact.
    pub async fn store_spend(&self) -> Cost {
        let mut pg = self.pg().await;
        let text: String = sqlx::query(
            "SELECT COALESCE(sum(cost_usd), 0)::text FROM usage_events WHERE tenant_id = $1",
        )
        .bind(&self.tenant)
        .fetch_one(&mut pg)
        .await
        .expect("sum cost")
        .get(0);
        Cost::parse_usd(&text).expect("a decimal sum")
    }

    /// Every event of the tenant: (status, error_kind, cost), exact.
    pub async fn store_events(&self) -> Vec<StoredEvent> {
        let mut pg = self.pg().await;
        sqlx::query(
            "SELECT status, error_kind, cost_usd::text, prompt_tokens, completion_tokens, \
             requested_model FROM usage_events WHERE tenant_id = $1",
        )
        .bind(&self.tenant)
        .fetch_all(&mut pg)
        .await
        .expect("events")
        .into_iter()
        .map(|row| StoredEvent {
            status: row.get(0),
            error_kind: row.get(1),
            cost: Cost::parse_usd(&row.get::<String, _>(2)).expect("a decimal cost"),
            prompt_tokens: row.get(3),
            completion_tokens: row.get(4),
            model: row.get(5),
        })
        .collect()
    }
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub status: i32,
    pub error_kind: Option<String>,
    pub cost: Cost,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub model: String,
}
