//! ROI promised vs achieved (issue 11): the scenario sales promised a tenant at
//! signing, and how the tenant's recorded traffic measures up to it, month by
//! month.
//!
//! - [`Promise`]: one saved version of a promise. Immutable: there is no update
//!   path here, and a trigger on `roi_promises` (both stores) refuses UPDATE and
//!   DELETE; a new scenario is a new version (1, 2, ... per tenant). It keeps
//!   the computed monthly figures beside the worksheet inputs, so a later price
//!   catalog cannot change what was promised.
//! - `achievement`: the pure month-by-month comparison ([`achievement()`]).
//! - `store`: saving and reading promises, and [`Store::achievement`] reading
//!   the tenant's savings from the daily rollups (never raw events).
//!
//! Honest by construction: measured savings are the rollups' `savings` (priced
//! traffic only: an unpriced request claims no saving). A month is marked
//! incomplete, with its reasons, when it is still in progress, when the tenant
//! had no recorded traffic yet at its start, or when some of its requests were
//! unpriced (their savings are unknown). Its figures are still shown.
//!
//! The projection for the year covers the first 12 months from the promise's
//! start month: the measured savings of its complete months, plus their
//! average for each month of the 12 that is not complete (yet). With no
//! complete month there is nothing to project from, and it is zero.
//!
//! What does not belong here: parsing the worksheet and working its figures
//! (the gateway's `roi_profile` and `pricing::roi`), HTTP shapes.
//!
//! [`Store::achievement`]: crate::store::Store::achievement

mod achievement;
pub(crate) mod store;

use chrono::NaiveDate;
use pricing::Cost;

pub use achievement::{
    achievement, basis_points, month_of, Achievement, MonthAchievement, MonthMeasured,
};
pub use achievement::{BEFORE_FIRST_TRAFFIC, FIRST_TRAFFIC_MID_MONTH, IN_PROGRESS, UNPRICED};

/// One saved version of a tenant's promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    pub tenant_id: String,
    /// 1, 2, ... per tenant; immutable once saved.
    pub version: i64,
    pub created_at_ms: i64,
    /// The acting key's id, or `"cli"`.
    pub created_by: String,
    /// The 1st of the first month the promise covers.
    pub start_month: NaiveDate,
    pub seats: i64,
    /// Seats x price per seat.
    pub fee_monthly: Cost,
    /// Current - optimized monthly cost.
    pub promised_gross_monthly: Cost,
    /// The worksheet request JSON as given (no secrets).
    pub inputs: String,
}

impl Promise {
    /// Gross savings promised, net of the fee.
    pub fn promised_net_monthly(&self) -> Cost {
        self.promised_gross_monthly - self.fee_monthly
    }
}

/// A promise to save; the store gives it its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPromise {
    pub created_at_ms: i64,
    pub created_by: String,
    /// Must be the 1st of a month.
    pub start_month: NaiveDate,
    pub seats: i64,
    pub fee_monthly: Cost,
    pub promised_gross_monthly: Cost,
    pub inputs: String,
}
