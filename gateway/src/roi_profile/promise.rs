//! Recording a promise: a worked scenario saved against a tenant at signing
//! (`POST /api/v1/roi/promises`). The worksheet's figures are kept beside its
//! inputs ([`analytics::promises`]), so a later price catalog cannot change
//! what was promised. The time of saving is read here, not in the handler.

use analytics::promises::{NewPromise, Promise};
use analytics::store::{Store, StoreError};
use chrono::NaiveDate;
use pricing::roi::Roi;

/// Who promised what to whom, and from when.
#[derive(Debug, Clone)]
pub struct Signing {
    pub tenant: String,
    /// The 1st of the first month the promise covers.
    pub start_month: NaiveDate,
    /// The acting key's id.
    pub created_by: String,
    /// The worksheet request as given (JSON; no secrets).
    pub inputs: String,
}

/// Saves the worked scenario `roi` for `seats` as the tenant's next version.
pub async fn record(
    store: &Store,
    signing: Signing,
    seats: u64,
    roi: &Roi,
) -> Result<Promise, StoreError> {
    let created_at_ms = chrono::Utc::now().timestamp_millis();
    let promise = NewPromise {
        created_at_ms,
        created_by: signing.created_by,
        start_month: signing.start_month,
        seats: i64::try_from(seats).unwrap_or(i64::MAX),
        fee_monthly: roi.platform_fee,
        promised_gross_monthly: roi.gross_monthly,
        inputs: signing.inputs,
    };
    store.save_promise(&signing.tenant, promise).await
}
