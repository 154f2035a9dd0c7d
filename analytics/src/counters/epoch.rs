//! How the gateway notices that Redis lost the counters, and the Redis side of
//! rebuilding them (the writer's side, which decides when, is `writer::recount`).
//!
//! `gw:counters:epoch` ([`EPOCH_KEY`]) names the generation of the counters. It
//! has no TTL, and every increment is applied by a script only if the epoch is
//! still the one the writer knows: an empty Redis (restart without persistence,
//! `FLUSHALL`, failover to an empty replica) has no epoch, so nothing is counted
//! onto a blank slate and the writer learns at once that the counters are gone.
//! Redis must not evict it: run it with `noeviction` or a `volatile-*` policy
//! (every counter key has a TTL; the epoch has none).
//!
//! A rebuild, by one writer at a time ([`LOCK_KEY`], `SET NX` with a TTL, so a
//! writer that dies mid-way is replaced): the epoch becomes `rebuilding:<owner>`
//! (every increment is refused meanwhile), today's counter keys are deleted and
//! written from the store's sums plus what writers still hold, and a new epoch
//! is set, only if the epoch is still this owner's. Readers see
//! [`Epoch::Missing`] or [`Epoch::Rebuilding`] in between.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::{CounterReadError, Increments, RedisCounters, FIELDS, READ_TIMEOUT};

/// The counters' generation (no TTL).
pub const EPOCH_KEY: &str = "gw:counters:epoch";
/// Followed by a writer's id: the number of its last send Redis applied, so a
/// send whose answer was lost and that is sent again is applied once.
pub const APPLIED_PREFIX: &str = "gw-applied:";
/// How long a writer's applied mark outlives its last send (as a day's counters).
const APPLIED_TTL_S: u64 = 3 * 24 * 3600;
/// Held by the one writer rebuilding the counters.
pub const LOCK_KEY: &str = "gw:counters:rebuild-lock";
/// The epoch's value while a rebuild runs, followed by its owner.
const REBUILDING: &str = "rebuilding:";
/// Longest wait for the writes of a rebuild (many keys, at most once per loss).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// The state of the counters, as the epoch says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Epoch {
    /// No epoch: Redis lost its data (or was never written to).
    Missing,
    /// A writer is rebuilding them.
    Rebuilding,
    /// Counted under this epoch.
    Stable(String),
}

impl Epoch {
    fn parse(value: Option<String>) -> Epoch {
        match value {
            None => Epoch::Missing,
            Some(text) if text.is_empty() => Epoch::Missing,
            Some(text) if text.starts_with(REBUILDING) => Epoch::Rebuilding,
            Some(text) => Epoch::Stable(text),
        }
    }

    /// Whether the counters can be trusted (not lost, not being rebuilt).
    pub fn is_stable(&self) -> bool {
        matches!(self, Epoch::Stable(_))
    }
}

/// What became of a send of increments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Applied under the epoch the writer knows.
    Counted,
    /// Redis did not answer: nothing applied, or applied with its answer lost
    /// (the send is made again under its number, so it counts once).
    Unreachable,
    /// Nothing applied: the epoch is not the writer's (lost, being rebuilt, or
    /// rebuilt by another writer).
    Lost(Epoch),
}

/// Applies increments if `GET KEYS[1] == ARGV[1]`; returns 1, or the epoch found
/// (`''` for none). KEYS[2] is the writer's applied mark and ARGV[2] the send's
/// number: a send numbered at or below the mark was applied before (its answer
/// was lost), so it returns 1 and applies nothing; otherwise the mark becomes
/// ARGV[2] (TTL ARGV[3]). KEYS[3..] are counter keys; ARGV then holds, per key,
/// its TTL and one value per field (in `FIELDS` order). Built from constants.
static APPLY_SCRIPT: LazyLock<String> = LazyLock::new(|| {
    let fields: Vec<String> = FIELDS.iter().map(|field| format!("'{field}'")).collect();
    format!(
        "local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then
  if current then return current end
  return ''
end
local mark = tonumber(redis.call('GET', KEYS[2]) or '0')
if mark >= tonumber(ARGV[2]) then return 1 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
local fields = {{{fields}}}
local a = 4
for i = 3, #KEYS do
  for f = 1, {count} do
    local v = ARGV[a + f]
    if v ~= '0' then redis.call('HINCRBY', KEYS[i], fields[f], v) end
  end
  redis.call('EXPIRE', KEYS[i], ARGV[a])
  a = a + {stride}
end
return 1",
        fields = fields.join(", "),
        count = FIELDS.len(),
        stride = FIELDS.len() + 1,
    )
});

/// Sets KEYS[1] to ARGV[2] if it is ARGV[1]; 1 if it did.
const SWAP_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0";

/// Deletes KEYS[1] if it is ARGV[1].
const UNLOCK_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// The script call applying `batch`, the writer's send `number` (its applied
/// mark at `applied_key`), under `known` (none: matches no epoch).
pub(super) fn apply_command(
    known: Option<&str>,
    applied_key: &str,
    number: u64,
    batch: &Increments,
) -> redis::Cmd {
    let mut command = redis::cmd("EVAL");
    command
        .arg(APPLY_SCRIPT.as_str())
        .arg(batch.by_key.len() + 2)
        .arg(EPOCH_KEY)
        .arg(applied_key);
    for key in batch.by_key.keys() {
        command.arg(key);
    }
    command
        .arg(known.unwrap_or(""))
        .arg(number)
        .arg(APPLIED_TTL_S);
    for (values, ttl) in batch.by_key.values() {
        command.arg(*ttl);
        for value in values {
            command.arg(*value);
        }
    }
    command
}

/// The answer of [`APPLY_SCRIPT`].
pub(super) fn applied(value: redis::Value) -> Sent {
    match value {
        redis::Value::Int(1) => Sent::Counted,
        redis::Value::BulkString(bytes) => Sent::Lost(Epoch::parse(Some(
            String::from_utf8_lossy(&bytes).into_owned(),
        ))),
        redis::Value::SimpleString(text) => Sent::Lost(Epoch::parse(Some(text))),
        _ => Sent::Lost(Epoch::Missing),
    }
}

/// The tenant of `key` if it is one of the counters a rebuild of `day` and the
/// minutes from `minutes_from` (`YYYYMMDDHHMM`) writes: a tenant's day, a key's
/// or a model's day, or a minute in the window. Other keys (other days,
/// budgets, limits) are `None`: a rebuild leaves them alone.
pub(crate) fn rebuilt_key_tenant<'k>(
    key: &'k str,
    day: &str,
    minutes_from: &str,
) -> Option<&'k str> {
    let rest = key.strip_prefix("gw:")?;
    let day_tag = format!(":d:{day}");
    if let Some(tenant) = rest.strip_suffix(&day_tag) {
        return Some(tenant);
    }
    for part in [":key:", ":model:"] {
        if let Some(at) = rest.find(&format!("{day_tag}{part}")) {
            return Some(&rest[..at]);
        }
    }
    let (tenant, minute) = rest.rsplit_once(":m:")?;
    (minute.len() == 12 && minute.bytes().all(|b| b.is_ascii_digit()) && minute >= minutes_from)
        .then_some(tenant)
}

impl RedisCounters {
    /// The epoch this writer counts under, if known.
    pub fn known_epoch(&self) -> Option<String> {
        self.known.lock().ok().and_then(|known| known.clone())
    }

    /// Takes the increments not sent yet.
    pub fn take_pending(&self) -> Increments {
        match self.pending.lock() {
            Ok(mut pending) => pending.take_all(),
            Err(_) => Increments::default(),
        }
    }

    /// Counts from now on under `epoch` (another writer's rebuild), starting
    /// with `increments`: those of what this writer holds, which no rebuild
    /// could see. Anything pending before is dropped (the caller recomputed it).
    pub async fn adopt(&self, epoch: String, increments: Increments) -> (Sent, u64) {
        self.take_pending();
        if let Ok(mut known) = self.known.lock() {
            *known = Some(epoch);
        }
        self.apply(increments).await
    }

    /// The current epoch, read now.
    pub async fn epoch(&self) -> Result<Epoch, CounterReadError> {
        let value: Option<String> = self.query(redis::cmd("GET").arg(EPOCH_KEY)).await?;
        Ok(Epoch::parse(value))
    }

    /// Takes the rebuild lock for `ttl` if nobody holds it.
    pub async fn try_lock(&self, owner: &str, ttl: Duration) -> Result<bool, CounterReadError> {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let taken: Option<String> = self
            .query(
                redis::cmd("SET")
                    .arg(LOCK_KEY)
                    .arg(owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis),
            )
            .await?;
        Ok(taken.is_some())
    }

    /// Releases the lock if `owner` still holds it.
    pub async fn unlock(&self, owner: &str) {
        let released: Result<i64, _> = self
            .query(
                redis::cmd("EVAL")
                    .arg(UNLOCK_SCRIPT)
                    .arg(1)
                    .arg(LOCK_KEY)
                    .arg(owner),
            )
            .await;
        if let Err(error) = released {
            tracing::debug!(%error, "counter rebuild lock not released (it expires)");
        }
    }

    /// Marks the counters as being rebuilt by `owner`: every writer's
    /// increments are refused from now until [`RedisCounters::publish`].
    pub async fn begin_rebuild(&self, owner: &str) -> Result<(), CounterReadError> {
        let _: () = self
            .query(
                redis::cmd("SET")
                    .arg(EPOCH_KEY)
                    .arg(format!("{REBUILDING}{owner}")),
            )
            .await?;
        Ok(())
    }

    /// Replaces today's counters with `values` and sets a new epoch, if
    /// `owner`'s rebuild is still the current one. Returns the new epoch, or
    /// `None` if another rebuild took over (or Redis was emptied again).
    ///
    /// Only counters of `day` and of the minutes from `minutes_from` are
    /// written (held increments of other days are left out: those days are not
    /// rebuilt). Every such key of a tenant in `values` is deleted first; keys
    /// of other tenants are left as they are (a Redis shared by several
    /// deployments keeps theirs).
    pub async fn publish(
        &self,
        owner: &str,
        values: &Increments,
        day: NaiveDate,
        minutes_from: DateTime<Utc>,
    ) -> Result<Option<String>, CounterReadError> {
        let day_text = day.format("%Y%m%d").to_string();
        let minute_text = minutes_from.format("%Y%m%d%H%M").to_string();
        let tenant_of = |key: &'_ str| -> Option<String> {
            rebuilt_key_tenant(key, &day_text, &minute_text).map(str::to_owned)
        };
        let tenants: std::collections::BTreeSet<String> = values
            .by_key
            .keys()
            .filter_map(|key| tenant_of(key))
            .collect();
        let mut stale = Vec::new();
        for pattern in [
            format!("gw:*:d:{day_text}*"),
            format!("gw:*:m:{}*", minutes_from.format("%Y%m%d")),
            format!("gw:*:m:{day_text}*"),
        ] {
            for key in self.keys_matching(&pattern).await? {
                if tenant_of(&key).is_some_and(|tenant| tenants.contains(&tenant)) {
                    stale.push(key);
                }
            }
        }
        stale.sort();
        stale.dedup();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in &stale {
            pipe.del(key).ignore();
        }
        for (key, (counts, ttl)) in &values.by_key {
            if tenant_of(key).is_none() {
                continue;
            }
            let fields: Vec<(&str, i64)> = FIELDS
                .iter()
                .zip(counts)
                .filter(|(_, value)| **value != 0)
                .map(|(field, value)| (*field, *value))
                .collect();
            if fields.is_empty() {
                continue;
            }
            pipe.del(key).ignore();
            pipe.hset_multiple(key, &fields).ignore();
            pipe.expire(key, *ttl).ignore();
        }
        let mut connection = self.reader().await?;
        tokio::time::timeout(PUBLISH_TIMEOUT, pipe.query_async::<()>(&mut connection))
            .await
            .map_err(|_| CounterReadError::Timeout(PUBLISH_TIMEOUT))?
            .map_err(|e| CounterReadError::Redis(e.to_string()))?;
        let epoch = uuid::Uuid::now_v7().to_string();
        let swapped: i64 = self
            .query(
                redis::cmd("EVAL")
                    .arg(SWAP_SCRIPT)
                    .arg(1)
                    .arg(EPOCH_KEY)
                    .arg(format!("{REBUILDING}{owner}"))
                    .arg(&epoch),
            )
            .await?;
        if swapped != 1 {
            return Ok(None);
        }
        self.take_pending();
        if let Ok(mut known) = self.known.lock() {
            *known = Some(epoch.clone());
        }
        Ok(Some(epoch))
    }

    async fn keys_matching(&self, pattern: &str) -> Result<Vec<String>, CounterReadError> {
        let mut connection = self.reader().await?;
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, found): (u64, Vec<String>) = tokio::time::timeout(
                READ_TIMEOUT,
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection),
            )
            .await
            .map_err(|_| CounterReadError::Timeout(READ_TIMEOUT))?
            .map_err(|e| CounterReadError::Redis(e.to_string()))?;
            keys.extend(found);
            cursor = next;
            if cursor == 0 {
                return Ok(keys);
            }
        }
    }

    async fn query<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<T, CounterReadError> {
        let mut connection = self.reader().await?;
        tokio::time::timeout(READ_TIMEOUT, command.query_async(&mut connection))
            .await
            .map_err(|_| CounterReadError::Timeout(READ_TIMEOUT))?
            .map_err(|e| CounterReadError::Redis(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_parse() {
        for (value, expected) in [
            (None, Epoch::Missing),
            (Some(""), Epoch::Missing),
            (Some("rebuilding:w1"), Epoch::Rebuilding),
            (Some("0193-abc"), Epoch::Stable("0193-abc".to_owned())),
        ] {
            assert_eq!(
                Epoch::parse(value.map(str::to_owned)),
                expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn script_answers_decode() {
        assert_eq!(applied(redis::Value::Int(1)), Sent::Counted);
        assert_eq!(
            applied(redis::Value::BulkString(b"".to_vec())),
            Sent::Lost(Epoch::Missing)
        );
        assert_eq!(
            applied(redis::Value::BulkString(b"e2".to_vec())),
            Sent::Lost(Epoch::Stable("e2".to_owned()))
        );
        assert_eq!(applied(redis::Value::Nil), Sent::Lost(Epoch::Missing));
    }

    #[test]
    fn the_script_names_the_fields_in_order() {
        let script = APPLY_SCRIPT.as_str();
        let mut at = 0;
        for field in FIELDS {
            let found = script[at..].find(&format!("'{field}'")).unwrap();
            at += found;
        }
        assert!(script.contains("for f = 1, 8 do") && script.contains("a = a + 9"));
    }

    #[test]
    fn rebuilt_keys_are_todays_counters_only() {
        let (day, from) = ("20261207", "202612071130");
        for (key, tenant) in [
            ("gw:acme:d:20261207", Some("acme")),
            ("gw:acme:d:20261207:key:k1", Some("acme")),
            ("gw:acme:d:20261207:model:gpt-4o", Some("acme")),
            ("gw:a:b:d:20261207", Some("a:b")),
            ("gw:acme:m:202612071130", Some("acme")),
            ("gw:acme:m:202612071329", Some("acme")),
            ("gw:acme:m:202612071129", None),
            ("gw:acme:d:20261206", None),
            ("gw:acme:d:20261206:key:k1", None),
            ("gw:acme:d:20261207:budget", None),
            ("gw:limits:acme:d:20261207x", None),
            ("gw:acme:m:2026120711", None),
            ("other:acme:d:20261207", None),
            (EPOCH_KEY, None),
            (LOCK_KEY, None),
        ] {
            assert_eq!(rebuilt_key_tenant(key, day, from), tenant, "{key}");
        }
    }
}
