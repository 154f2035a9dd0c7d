//! Finding the refused rows inside a batch the store refused, so the rest of the
//! batch still lands: a refused tenant must not take other tenants' events down.
//!
//! A failed write has no effect (see [`crate::store::EventStore::write`]), so a
//! refused part can be split and its pieces written again. A part that mixes
//! tenants is split by tenant first (refusals are most often about one tenant:
//! a quota, a blocked account, a trigger), then in halves, and a small part row
//! by row. For `r` refused rows among `n` the writer makes about
//! `tenants + 2 r log2(n / r)` writes; a tenant whose rows are all refused costs
//! about `1.25` writes per row.
//!
//! What does not belong here: writing, timing, or deciding what is refused
//! (`store::error` does).

use std::collections::HashMap;

use crate::event::UsageEvent;

/// Parts of at most this many events are retried one event at a time.
const ROW_BY_ROW: usize = 8;

/// How to split a part of two or more events the store refused, in the order
/// the parts are to be tried.
pub(super) fn split(part: Vec<UsageEvent>) -> Vec<Vec<UsageEvent>> {
    let mixed = part
        .first()
        .is_some_and(|first| part.iter().any(|e| e.tenant_id != first.tenant_id));
    if mixed {
        let mut groups: Vec<Vec<UsageEvent>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for event in part {
            let at = match index.get(&event.tenant_id) {
                Some(&at) => at,
                None => {
                    index.insert(event.tenant_id.clone(), groups.len());
                    groups.push(Vec::new());
                    groups.len() - 1
                }
            };
            if let Some(group) = groups.get_mut(at) {
                group.push(event);
            }
        }
        return groups;
    }
    if part.len() <= ROW_BY_ROW {
        return part.into_iter().map(|event| vec![event]).collect();
    }
    let mut first = part;
    let second = first.split_off(first.len() / 2);
    vec![first, second]
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::event::tests::sample;

    fn tenants(parts: &[Vec<UsageEvent>]) -> Vec<Vec<&str>> {
        parts
            .iter()
            .map(|part| part.iter().map(|e| e.tenant_id.as_str()).collect())
            .collect()
    }

    fn batch(tenants: &[&str]) -> Vec<UsageEvent> {
        tenants.iter().map(|t| sample(t, Utc::now())).collect()
    }

    #[test]
    fn parts_split_by_tenant_then_halves_then_rows() {
        let cases: [(&[&str], Vec<Vec<&str>>); 4] = [
            (
                &["a", "b", "a", "c", "b"],
                vec![vec!["a", "a"], vec!["b", "b"], vec!["c"]],
            ),
            (&["a", "a", "a"], vec![vec!["a"], vec!["a"], vec!["a"]]),
            (&["a"; 8], vec![vec!["a"]; 8]),
            (&["a"; 9], vec![vec!["a"; 4], vec!["a"; 5]]),
        ];
        for (input, expected) in cases {
            assert_eq!(tenants(&split(batch(input))), expected, "{input:?}");
        }
    }

    #[test]
    fn splitting_keeps_every_event_once_and_in_order_within_a_tenant() {
        let input = batch(&["x", "y", "x", "z", "y", "x"]);
        let parts = split(input.clone());
        let mut ids: Vec<_> = parts.iter().flatten().map(|e| e.event_id).collect();
        let x: Vec<_> = parts[0].iter().map(|e| e.event_id).collect();
        assert_eq!(
            x,
            vec![input[0].event_id, input[2].event_id, input[5].event_id]
        );
        ids.sort();
        let mut expected: Vec<_> = input.iter().map(|e| e.event_id).collect();
        expected.sort();
        assert_eq!(ids, expected);
    }

    /// Isolating every refused row of a batch terminates and finds exactly
    /// them, whatever the pattern (the same loop the writer runs, with a
    /// predicate for the store).
    #[test]
    fn isolation_finds_exactly_the_refused_rows() {
        type Refused = fn(usize, &UsageEvent) -> bool;
        let patterns: [(&str, Refused); 4] = [
            ("one tenant", |_, e| e.tenant_id == "bad"),
            ("every 7th row", |i, _| i % 7 == 3),
            ("nothing", |_, _| false),
            ("everything", |_, _| true),
        ];
        for (what, refused) in patterns {
            let input: Vec<UsageEvent> = (0..500)
                .map(|i| sample(["good", "bad", "other"][i % 3], Utc::now()))
                .collect();
            let bad: Vec<_> = input
                .iter()
                .enumerate()
                .filter(|(i, e)| refused(*i, e))
                .map(|(_, e)| e.event_id)
                .collect();
            let refuses = |part: &[UsageEvent]| part.iter().any(|e| bad.contains(&e.event_id));
            let (mut landed, mut dead, mut writes) = (Vec::new(), Vec::new(), 0);
            let mut todo = vec![input.clone()];
            while let Some(part) = todo.pop() {
                writes += 1;
                if !refuses(&part) {
                    landed.extend(part.iter().map(|e| e.event_id));
                } else if part.len() == 1 {
                    dead.push(part[0].event_id);
                } else {
                    todo.extend(split(part).into_iter().rev());
                }
            }
            dead.sort();
            let mut expected = bad.clone();
            expected.sort();
            assert_eq!(dead, expected, "{what}");
            assert_eq!(landed.len() + dead.len(), input.len(), "{what}");
            assert!(writes <= 2 * input.len(), "{what}: {writes} writes");
        }
    }
}
