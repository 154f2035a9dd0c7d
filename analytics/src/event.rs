//! The usage event: one per request, metadata only. It never holds prompt or
//! completion text, tool arguments or keys; the fields below are all there is.
//! Identifiers that could be personal (the OpenAI `user` field) are tagged with a
//! keyed hash ([`UserTagKey`]): a plain hash of an e-mail address is reversed by
//! hashing a list of addresses, a keyed one only by whoever holds the key.

use chrono::{DateTime, Utc};
use pricing::{Cost, TokenUsage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Longest model name or tag stored; longer client input is cut.
pub const MAX_NAME_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// UUIDv7: unique, and ordered by time. Replays are deduplicated on it.
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub tenant_id: String,
    pub key_id: String,
    pub team: Option<String>,
    /// HMAC-SHA256 of the request's `user` field under the deployment's
    /// [`UserTagKey`] (hex, 16 chars), if any.
    pub user_tag: Option<String>,
    /// `chat_completions` or `embeddings`.
    pub endpoint: String,
    pub requested_model: String,
    pub routed_provider: Option<String>,
    pub routed_model: Option<String>,
    /// `requested`, `cheaper_equivalent`, `virtual`, `shadow`, or `none` when the
    /// request was refused before routing.
    pub route_reason: String,
    pub attempts: u16,
    pub stream: bool,
    /// HTTP status the client got (200 for streams, even if cut later).
    pub status: u16,
    /// Low-cardinality error kind (`upstream_status`, `rate_limited`,
    /// `stream_cut`, `client_cancelled`, ...), `None` on success.
    pub error_kind: Option<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    /// True when the provider reported no usage and the gateway counted.
    pub usage_estimated: bool,
    /// What the request cost, exact. `None` when the model that served it has no
    /// price: the cost is unknown (not zero), and so are the baseline and the
    /// savings; such a request is *unpriced* and counted as such, never as a
    /// saving. Serialized as decimal text (`"0.000123"`) or `null`.
    #[serde(with = "usd_text")]
    pub cost_usd: Option<Cost>,
    /// What the requested model would have cost at list price for the same
    /// usage; known exactly when `cost_usd` is.
    #[serde(with = "usd_text")]
    pub baseline_usd: Option<Cost>,
    /// `provider/id@date` of the prices used, if the route was priced.
    pub price_version: Option<String>,
    pub baseline_price_version: Option<String>,
    pub latency_ms: u32,
    pub ttft_ms: Option<u32>,
    pub upstream_ms: Option<u32>,
    /// Client family from the User-Agent (`openai-python`, `curl`, `other`, ...).
    pub client_family: String,
    /// The wire format the client spoke (`openai_chat`, `anthropic`,
    /// `responses`, ...); `None` on events recorded before formats were kept.
    #[serde(default)]
    pub ingress_format: Option<String>,
    /// The wire format of the provider that served the request (`openai_chat`,
    /// `anthropic`, `gemini`, ...); `None` when no provider answered.
    #[serde(default)]
    pub upstream_format: Option<String>,
}

impl UsageEvent {
    /// A new event id for `at`.
    pub fn new_id() -> Uuid {
        Uuid::now_v7()
    }

    /// Cost and baseline, when both are known (the request was priced).
    pub fn priced(&self) -> Option<(Cost, Cost)> {
        Some((self.cost_usd?, self.baseline_usd?))
    }

    /// Baseline minus cost; `None` for an unpriced request.
    pub fn savings(&self) -> Option<Cost> {
        self.priced().map(|(cost, baseline)| baseline - cost)
    }

    pub fn set_usage(&mut self, usage: &TokenUsage) {
        self.prompt_tokens = usage.prompt_tokens;
        self.completion_tokens = usage.completion_tokens;
        self.cached_tokens = usage.cached_prompt_tokens;
        self.cache_write_tokens = usage.cache_write_tokens;
        self.reasoning_tokens = usage.reasoning_tokens;
    }
}

/// `Option<Cost>` as exact decimal USD text or `null` (the form spill files have
/// always used, so older spill files replay unchanged).
mod usd_text {
    use pricing::Cost;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Cost>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(cost) => serializer.serialize_str(&cost.usd()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Cost>, D::Error> {
        Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?
            .map(|text| Cost::parse_usd(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Cuts client-supplied names to [`MAX_NAME_LEN`] bytes at a character boundary.
pub fn bounded(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// The per-deployment secret the `user` field is tagged with: HMAC-SHA256
/// (RFC 2104) keyed with it. The same user gets the same tag for as long as the
/// secret stays the same, so the tags still group one user's requests; every
/// gateway writing to one store must use the same secret. `Debug` never shows it.
#[derive(Clone)]
pub struct UserTagKey {
    /// SHA-256 with the key's inner and outer pads already absorbed, so a tag
    /// costs two short hashes and no key set-up.
    inner: Sha256,
    outer: Sha256,
}

/// SHA-256's block size, the length HMAC pads its key to.
const BLOCK: usize = 64;

impl UserTagKey {
    pub fn new(secret: &[u8]) -> UserTagKey {
        let mut block = [0u8; BLOCK];
        if secret.len() > BLOCK {
            block[..32].copy_from_slice(&Sha256::digest(secret));
        } else {
            block[..secret.len()].copy_from_slice(secret);
        }
        UserTagKey {
            inner: Sha256::new().chain_update(block.map(|b| b ^ 0x36)),
            outer: Sha256::new().chain_update(block.map(|b| b ^ 0x5c)),
        }
    }

    /// HMAC-SHA256 of `message` under this key.
    fn mac(&self, message: &[u8]) -> [u8; 32] {
        let inner = self.inner.clone().chain_update(message).finalize();
        self.outer.clone().chain_update(inner).finalize().into()
    }

    /// A stable tag for an end-user identifier: the first 8 bytes of its HMAC,
    /// in hex.
    pub fn tag(&self, user: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mac = self.mac(user.as_bytes());
        let mut tag = String::with_capacity(16);
        for byte in &mac[..8] {
            tag.push(char::from(HEX[usize::from(byte >> 4)]));
            tag.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        tag
    }
}

impl std::fmt::Debug for UserTagKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserTagKey(***)")
    }
}

/// The client family from a User-Agent header: enough to see which tools drive
/// spend, never the full string.
pub fn client_family(user_agent: Option<&str>) -> &'static str {
    let Some(ua) = user_agent.map(str::to_ascii_lowercase) else {
        return "unknown";
    };
    const FAMILIES: [(&str, &str); 12] = [
        ("openai/python", "openai-python"),
        ("asyncopenai/python", "openai-python"),
        ("openai/js", "openai-node"),
        ("continue", "continue"),
        ("cursor", "cursor"),
        ("aider", "aider"),
        ("cline", "cline"),
        ("zed", "zed"),
        ("litellm", "litellm"),
        ("langchain", "langchain"),
        ("curl", "curl"),
        ("python-requests", "python-requests"),
    ];
    FAMILIES
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map_or("other", |(_, family)| family)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A complete event for tests.
    pub fn sample(tenant: &str, at: DateTime<Utc>) -> UsageEvent {
        UsageEvent {
            event_id: UsageEvent::new_id(),
            occurred_at: at,
            tenant_id: tenant.to_owned(),
            key_id: "key-1".to_owned(),
            team: Some("platform".to_owned()),
            user_tag: Some(UserTagKey::new(b"test secret").tag("alice@example.com")),
            endpoint: "chat_completions".to_owned(),
            requested_model: "gpt-4o".to_owned(),
            routed_provider: Some("openai".to_owned()),
            routed_model: Some("gpt-4o-mini".to_owned()),
            route_reason: "cheaper_equivalent".to_owned(),
            attempts: 1,
            stream: false,
            status: 200,
            error_kind: None,
            prompt_tokens: 1_000,
            completion_tokens: 100,
            cached_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            usage_estimated: false,
            cost_usd: Cost::parse_usd("0.00021").ok(),
            baseline_usd: Cost::parse_usd("0.0035").ok(),
            price_version: Some("openai/gpt-4o-mini@2026-11-25".to_owned()),
            baseline_price_version: Some("openai/gpt-4o@2026-11-25".to_owned()),
            latency_ms: 420,
            ttft_ms: None,
            upstream_ms: Some(400),
            client_family: "openai-python".to_owned(),
            ingress_format: Some("openai_chat".to_owned()),
            upstream_format: Some("openai_chat".to_owned()),
        }
    }

    #[test]
    fn savings_are_exact_and_unknown_when_unpriced() {
        let mut event = sample("t", Utc::now());
        assert_eq!(event.savings().map(Cost::usd).as_deref(), Some("0.00329"));
        event.cost_usd = None;
        assert_eq!(event.savings(), None);
        assert_eq!(event.priced(), None);
    }

    #[test]
    fn amounts_serialize_as_decimal_text_or_null() {
        let mut event = sample("t", Utc::now());
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["cost_usd"], "0.00021");
        assert_eq!(json["baseline_usd"], "0.0035");
        assert_eq!(serde_json::from_value::<UsageEvent>(json).unwrap(), event);
        event.cost_usd = None;
        event.baseline_usd = None;
        let json = serde_json::to_value(&event).unwrap();
        assert!(json["cost_usd"].is_null() && json["baseline_usd"].is_null());
        assert_eq!(serde_json::from_value::<UsageEvent>(json).unwrap(), event);
        let mut bad = serde_json::to_value(&event).unwrap();
        bad["cost_usd"] = "a lot".into();
        assert!(serde_json::from_value::<UsageEvent>(bad).is_err());
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231's HMAC-SHA256 test cases 1, 2, 3 and 6 (a key longer than a block).
    #[test]
    fn the_mac_is_hmac_sha256() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 4] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, message, expected) in cases {
            assert_eq!(hex(&UserTagKey::new(&key).mac(&message)), expected);
        }
    }

    #[test]
    fn user_tags_are_keyed() {
        let key = UserTagKey::new(b"deployment one's secret");
        let other = UserTagKey::new(b"deployment two's secret");
        let tag = key.tag("alice@example.com");
        // (tag, expected) rows: stable for one key, different users and keys
        // differ, and never the plain SHA-256 a dictionary would find.
        let plain = hex(&Sha256::digest(b"alice@example.com")[..8]);
        assert_eq!(tag.len(), 16);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(key.tag("alice@example.com"), tag);
        assert_eq!(key.clone().tag("alice@example.com"), tag);
        assert_ne!(key.tag("bob@example.com"), tag);
        assert_ne!(other.tag("alice@example.com"), tag);
        assert_ne!(plain, tag);
        assert_eq!(tag, hex(&key.mac(b"alice@example.com")[..8]));
        assert_eq!(format!("{key:?}"), "UserTagKey(***)");
    }

    #[test]
    fn tags_and_families() {
        assert_eq!(client_family(Some("OpenAI/Python 1.54.0")), "openai-python");
        assert_eq!(client_family(Some("OpenAI/JS 4.0")), "openai-node");
        assert_eq!(client_family(Some("curl/8.0")), "curl");
        assert_eq!(client_family(Some("Mozilla/5.0")), "other");
        assert_eq!(client_family(None), "unknown");
        assert_eq!(bounded(&"é".repeat(100)).len(), 128);
    }
}
