//! The rates a routed request is priced against, chosen from the routing
//! decision and the catalog snapshot: pricing policy, so it lives with the
//! proxy that bills, not in a handler. The arithmetic is `crate::billing`'s
//! and `pricing`'s; only the choice of rates is made here.

use crate::billing::Billing;
use crate::clock;
use crate::routing::{Decision, RouteReason};
use crate::state::Snapshot;

/// The rates a request is priced against: the baseline a substitute is compared
/// with (the requested model's cheapest deployment; for a virtual name, the
/// configured `routing.baseline_model`, the only baseline that is not a price of
/// the model asked for) and the shadow pick. Each attempt then sets the served
/// rate (`Billing::serving`).
pub fn billing_for(snapshot: &Snapshot, decision: &Decision) -> Billing {
    let table = &snapshot.table;
    let baseline = match (decision.baseline, decision.reason) {
        (Some(index), _) => table.get(index).rate.clone(),
        (None, RouteReason::Virtual) => {
            snapshot.routing.baseline_model.as_deref().and_then(|name| {
                table
                    .named(name)
                    .iter()
                    .filter_map(|&i| table.get(i).rate.clone())
                    .filter_map(|rate| Some((rate.current_input()?, rate)))
                    .min_by_key(|(input, _)| *input)
                    .map(|(_, rate)| rate)
            })
        }
        (None, _) => None,
    };
    Billing {
        day: Some(clock::today()),
        served: None,
        baseline,
        shadow: decision.shadow.and_then(|i| table.get(i).rate.clone()),
    }
}
