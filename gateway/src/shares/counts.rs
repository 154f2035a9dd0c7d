//! Views of share links, counted in memory per link and added to the store in
//! batches (by the control sync task's flush, and before an owner's list), so
//! reading a link costs no store write. Exact after a flush: a batch the store
//! refused is put back and added again at the next one.

use std::collections::HashMap;
use std::sync::Mutex;

use analytics::control::ControlStore;
use analytics::store::StoreError;

/// Views not yet in the store: link id -> (count, newest view in unix ms).
#[derive(Default)]
pub struct ViewCounts {
    pending: Mutex<HashMap<String, (i64, i64)>>,
}

impl ViewCounts {
    /// Counts one view of link `share_id` at `at_ms`.
    pub fn note(&self, share_id: &str, at_ms: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let entry = pending.entry(share_id.to_owned()).or_insert((0, at_ms));
        entry.0 += 1;
        entry.1 = entry.1.max(at_ms);
    }

    /// Views of `share_id` counted here and not yet flushed.
    pub fn pending(&self, share_id: &str) -> i64 {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.get(share_id).map_or(0, |(n, _)| *n)
    }

    fn take(&self) -> HashMap<String, (i64, i64)> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn put_back(&self, share_id: String, (count, last_ms): (i64, i64)) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let entry = pending.entry(share_id).or_insert((0, last_ms));
        entry.0 += count;
        entry.1 = entry.1.max(last_ms);
    }

    /// Adds every pending count to the store. On an error the counts not yet
    /// written are kept for the next flush, and the error returned.
    pub async fn flush(&self, store: &ControlStore) -> Result<(), StoreError> {
        let mut batch = self.take().into_iter();
        while let Some((share_id, (count, last_ms))) = batch.next() {
            if let Err(error) = store.add_share_views(&share_id, count, last_ms).await {
                self.put_back(share_id, (count, last_ms));
                for (id, counts) in batch {
                    self.put_back(id, counts);
                }
                return Err(error);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_add_up_per_link_until_taken() {
        let counts = ViewCounts::default();
        counts.note("a", 5);
        counts.note("a", 3);
        counts.note("b", 7);
        assert_eq!((counts.pending("a"), counts.pending("b")), (2, 1));
        let taken = counts.take();
        assert_eq!(taken.get("a"), Some(&(2, 5)));
        assert_eq!(counts.pending("a"), 0);
        counts.note("a", 9);
        counts.put_back("a".into(), (2, 5));
        assert_eq!(counts.take().get("a"), Some(&(3, 9)));
    }
}
