//! The model catalog: what each provider's models cost, how much they can read and
//! write, what they can do, and how good they are. The gateway embeds a default
//! catalog (`catalog/default.toml`); a file can replace or extend it.
//!
//! Prices are versioned by effective date, so a price change adds a version and
//! never rewrites what past requests cost: a cost names the version it used.

mod file;
pub mod litellm;

use std::collections::HashMap;
use std::fmt;

pub use file::{parse, CatalogError};

use crate::date::Date;
use crate::money::Price;

/// The catalog the gateway ships with.
pub const DEFAULT_CATALOG: &str = include_str!("../../catalog/default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Chat,
    Embedding,
}

/// What a model can do, as a small bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u8);

impl Capabilities {
    pub const TOOLS: Capabilities = Capabilities(1);
    pub const VISION: Capabilities = Capabilities(1 << 1);
    pub const JSON_SCHEMA: Capabilities = Capabilities(1 << 2);
    pub const STREAMING: Capabilities = Capabilities(1 << 3);
    pub const EMBEDDINGS: Capabilities = Capabilities(1 << 4);

    /// Names as written in catalog files.
    pub const NAMES: [(&'static str, Capabilities); 5] = [
        ("tools", Capabilities::TOOLS),
        ("vision", Capabilities::VISION),
        ("json_schema", Capabilities::JSON_SCHEMA),
        ("streaming", Capabilities::STREAMING),
        ("embeddings", Capabilities::EMBEDDINGS),
    ];

    pub const fn empty() -> Capabilities {
        Capabilities(0)
    }

    pub fn from_name(name: &str) -> Option<Capabilities> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    pub const fn union(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }

    /// The capabilities of `self` that `other` does not have.
    pub const fn without(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 & !other.0)
    }

    pub const fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the capabilities `self` lacks from `wanted`.
    pub fn missing(self, wanted: Capabilities) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(_, c)| wanted.contains(*c) && !self.contains(*c))
            .map(|(n, _)| *n)
            .collect()
    }
}

/// Above this many prompt tokens a request is billed at other prices (Gemini,
/// Claude's long-context beta): every token of such a request, not just the excess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongContextPrices {
    pub above_prompt_tokens: u64,
    pub input: Price,
    pub output: Price,
    pub cached_input: Option<Price>,
}

/// One set of list prices, in force from `effective` until `until` (exclusive) or,
/// without `until`, until the next version takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceVersion {
    pub effective: Date,
    pub until: Option<Date>,
    pub input: Price,
    pub output: Price,
    /// Reading a cached prompt token; `None`: billed as input.
    pub cached_input: Option<Price>,
    /// Writing a prompt token to the cache; `None`: billed as input.
    pub cache_write: Option<Price>,
    /// Reasoning tokens when billed apart from output; `None`: billed as output.
    pub reasoning: Option<Price>,
    pub long_context: Option<LongContextPrices>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    pub provider: String,
    pub id: String,
    pub aliases: Vec<String>,
    pub kind: Kind,
    pub context_window: u64,
    pub max_output: u64,
    pub capabilities: Capabilities,
    /// Quality tier, 1 (small, cheap) to 5 (frontier). `equivalent` routing only
    /// substitutes a model of the same tier or better.
    pub tier: u8,
    /// Ascending by `effective`, non-overlapping.
    pub prices: Vec<PriceVersion>,
}

/// Names a catalog entry's price version, e.g. `openai/gpt-4o@2024-08-06`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceRef<'a> {
    pub entry: &'a ModelEntry,
    pub version: &'a PriceVersion,
}

impl fmt::Display for PriceRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}@{}",
            self.entry.provider, self.entry.id, self.version.effective
        )
    }
}

impl ModelEntry {
    /// The prices in force on `day`. A day before the first version is priced at
    /// the first version (the earliest price the catalog knows); a day in a gap
    /// after a version's `until` has no price.
    pub fn price_on(&self, day: Date) -> Option<PriceRef<'_>> {
        let version = match self.prices.iter().rev().find(|v| v.effective <= day) {
            Some(v) if v.until.is_some_and(|until| day >= until) => return None,
            Some(v) => v,
            None => self.prices.first()?,
        };
        Some(PriceRef {
            entry: self,
            version,
        })
    }

    /// The newest prices.
    pub fn current_price(&self) -> Option<PriceRef<'_>> {
        self.prices.last().map(|version| PriceRef {
            entry: self,
            version,
        })
    }

    pub fn answers_to(&self, name: &str) -> bool {
        self.id == name || self.aliases.iter().any(|a| a == name)
    }
}

/// A validated catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub source: String,
    pub retrieved: String,
    entries: Vec<ModelEntry>,
    /// (provider, id or alias) to entry index.
    index: HashMap<(String, String), usize>,
}

impl Catalog {
    pub fn new(source: String, retrieved: String, entries: Vec<ModelEntry>) -> Catalog {
        let mut index = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            for name in std::iter::once(&entry.id).chain(&entry.aliases) {
                index.insert((entry.provider.clone(), name.clone()), i);
            }
        }
        Catalog {
            source,
            retrieved,
            entries,
            index,
        }
    }

    /// The catalog embedded in the binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        parse(DEFAULT_CATALOG)
    }

    pub fn entries(&self) -> &[ModelEntry] {
        &self.entries
    }

    pub fn get(&self, provider: &str, name: &str) -> Option<&ModelEntry> {
        self.index
            .get(&(provider.to_owned(), name.to_owned()))
            .map(|&i| &self.entries[i])
    }

    /// Every entry that answers to `name`, at any provider.
    pub fn find_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ModelEntry> + 'a {
        self.entries.iter().filter(move |e| e.answers_to(name))
    }

    /// This catalog with `overlay`'s entries added, replacing entries of the same
    /// provider and id.
    pub fn extended_with(&self, overlay: Catalog) -> Catalog {
        let mut entries: Vec<ModelEntry> = self
            .entries
            .iter()
            .filter(|e| overlay.get(&e.provider, &e.id).is_none())
            .cloned()
            .collect();
        entries.extend(overlay.entries);
        Catalog::new(overlay.source, overlay.retrieved, entries)
    }
}
