//! Tenant reads get their own connections: one small pool per tenant, each
//! connection bound to its tenant for its whole life (migration
//! `20261208100000_least_privilege`). When a reader connection opens, it
//! switches to `gateway_reader`, the system pool mints a one-time grant for
//! the tenant (`gateway_grant_reader`, a writer-only function) and the new
//! session redeems it (`gateway_bind_reader`); from then on Row-Level Security
//! shows that session its tenant's rows only, whatever settings it changes.
//!
//! A connection never serves two tenants, so nothing one tenant's session
//! leaves behind (settings, prepared statements, temporary objects) can meet
//! another tenant's query. At most [`MAX_TENANTS`] pools are kept, the least
//! recently used dropped first; idle connections close after
//! [`IDLE_TIMEOUT`].
//!
//! What a reader login may do is checked elsewhere (`roles`); this module
//! only opens and binds.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

/// Tenants whose reader pool is kept at once.
const MAX_TENANTS: usize = 8;
/// Connections of one tenant's pool: a dashboard page asks about eight things
/// at once. With [`MAX_TENANTS`], at most 24 reader connections per gateway
/// (plus those of an evicted pool still finishing its queries).
const CONNECTIONS_PER_TENANT: u32 = 3;
/// A reader connection unused this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The reader pools, by tenant.
pub(super) struct Readers {
    /// Where reader sessions log in: the reader login, or (single URL) the
    /// serving login, which then switches to `gateway_reader`.
    options: PgConnectOptions,
    /// Mints the one-time grants: the system side's pool.
    system: PgPool,
    pools: Mutex<Pools>,
}

#[derive(Default)]
struct Pools {
    by_tenant: HashMap<String, (PgPool, u64)>,
    /// Increases on every use; a pool's number says when it was last used.
    clock: u64,
}

impl Readers {
    pub(super) fn new(options: PgConnectOptions, system: PgPool) -> Readers {
        Readers {
            options: options.application_name("gateway-reader"),
            system,
            pools: Mutex::new(Pools::default()),
        }
    }

    /// Where reader sessions log in.
    pub(super) fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The pool of `tenant`'s connections (made on first use; it connects on
    /// demand).
    pub(super) fn pool(&self, tenant: &str) -> PgPool {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        pools.clock += 1;
        let now = pools.clock;
        if let Some((pool, used)) = pools.by_tenant.get_mut(tenant) {
            *used = now;
            return pool.clone();
        }
        if pools.by_tenant.len() >= MAX_TENANTS {
            if let Some(oldest) = least_recent(&pools.by_tenant) {
                // Dropping the handle closes its idle connections; connections
                // in use finish their query and close when returned.
                pools.by_tenant.remove(&oldest);
            }
        }
        let pool = self.open(tenant);
        pools
            .by_tenant
            .insert(tenant.to_owned(), (pool.clone(), now));
        pool
    }

    /// Tenants with a pool, for tests.
    #[cfg(test)]
    fn tenants(&self) -> Vec<String> {
        let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let mut tenants: Vec<String> = pools.by_tenant.keys().cloned().collect();
        tenants.sort();
        tenants
    }

    fn open(&self, tenant: &str) -> PgPool {
        let system = self.system.clone();
        let tenant = tenant.to_owned();
        PgPoolOptions::new()
            .max_connections(CONNECTIONS_PER_TENANT)
            .min_connections(0)
            .idle_timeout(IDLE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                let system = system.clone();
                let tenant = tenant.clone();
                Box::pin(async move {
                    conn.execute("SET ROLE gateway_reader").await?;
                    let token: String = sqlx::query_scalar("SELECT gateway_grant_reader($1)")
                        .bind(&tenant)
                        .fetch_one(&system)
                        .await?;
                    let bound: String = sqlx::query_scalar("SELECT gateway_bind_reader($1)")
                        .bind(&token)
                        .fetch_one(&mut *conn)
                        .await?;
                    if bound != tenant {
                        return Err(sqlx::Error::Protocol(
                            "a reader session was bound to another tenant".to_owned(),
                        ));
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(self.options.clone())
    }
}

/// The tenant whose pool was used longest ago.
fn least_recent(pools: &HashMap<String, (PgPool, u64)>) -> Option<String> {
    pools
        .iter()
        .min_by_key(|(_, (_, used))| *used)
        .map(|(tenant, _)| tenant.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers() -> Readers {
        let options = PgConnectOptions::new().host("127.0.0.1").port(1);
        let system = PgPoolOptions::new().connect_lazy_with(options.clone());
        Readers::new(options, system)
    }

    #[tokio::test]
    async fn one_pool_per_tenant_and_the_least_recent_goes_first() {
        let readers = readers();
        for n in 0..MAX_TENANTS {
            readers.pool(&format!("t{n:02}"));
        }
        assert_eq!(readers.tenants().len(), MAX_TENANTS);
        // t00 is used again: t01 is now the least recent and makes room.
        readers.pool("t00");
        readers.pool("new");
        let tenants = readers.tenants();
        assert_eq!(tenants.len(), MAX_TENANTS);
        assert!(tenants.contains(&"t00".to_owned()), "{tenants:?}");
        assert!(tenants.contains(&"new".to_owned()), "{tenants:?}");
        assert!(!tenants.contains(&"t01".to_owned()), "{tenants:?}");
    }
}
