//! Who the demo's simulated customers are and how they use LLMs: the simulated
//! providers (named after real vendors so the real catalog prices apply), the
//! tenants and their keys with their routing policies, and the client profiles
//! that generate traffic (which key, which tool, which models, what sizes).
//!
//! Both the history backfill and the live traffic draw from these tables, so
//! the past and the present look alike.

/// One simulated provider: a mock instance standing in for a real vendor.
pub struct SimProvider {
    /// The provider name in the config (and on the dashboard).
    pub name: &'static str,
    /// The catalog provider whose models and prices it serves.
    pub catalog: &'static str,
    /// Time to response headers (the mock's `delay_ms`).
    pub delay_ms: u64,
    /// Time between stream chunks (the mock's `chunk_delay_ms`).
    pub chunk_delay_ms: u64,
    /// Fails in bursts: some windows of time answer 503, and the gateway fails over.
    pub flaky: bool,
}

pub const PROVIDERS: &[SimProvider] = &[
    SimProvider {
        name: "openai",
        catalog: "openai",
        delay_ms: 420,
        chunk_delay_ms: 9,
        flaky: false,
    },
    SimProvider {
        name: "anthropic",
        catalog: "anthropic",
        delay_ms: 640,
        chunk_delay_ms: 11,
        flaky: false,
    },
    SimProvider {
        name: "gemini",
        catalog: "gemini",
        delay_ms: 360,
        chunk_delay_ms: 7,
        flaky: false,
    },
    SimProvider {
        name: "groq",
        catalog: "groq",
        delay_ms: 95,
        chunk_delay_ms: 2,
        flaky: true,
    },
    SimProvider {
        name: "deepseek",
        catalog: "deepseek",
        delay_ms: 880,
        chunk_delay_ms: 16,
        flaky: false,
    },
    SimProvider {
        name: "mistral",
        catalog: "mistral",
        delay_ms: 410,
        chunk_delay_ms: 8,
        flaky: false,
    },
    // A self-hosted server the catalog does not know: it serves only the
    // config's [[models]] entries ([`SELF_HOSTED`]), which have no price.
    SimProvider {
        name: "local",
        catalog: "local",
        delay_ms: 150,
        chunk_delay_ms: 5,
        flaky: false,
    },
];

/// Config models on the self-hosted provider, `(name, upstream model)`, left
/// without a price: their requests are unpriced (no cost, no savings), and the
/// dashboard says how many there were.
pub const SELF_HOSTED: &[(&str, &str)] = &[("llama-local", "llama-3.1-8b-instruct")];

/// Words in every simulated answer (about one token each).
pub const REPLY_WORDS: u64 = 60;

/// A key the demo mints at start. Its TOML settings go into the generated config.
pub struct DemoKey {
    pub id: &'static str,
    pub tenant: &'static str,
    pub team: Option<&'static str>,
    /// Extra `[[keys]]` settings (role, policy, provider lists), as TOML lines.
    pub settings: &'static str,
}

/// The key printed as the "tenant key" and the dashboard token.
pub const MAIN_KEY: &str = "acme-platform";
pub const DASHBOARD_KEY: &str = "acme-dashboard";
pub const OTHER_TENANT_KEY: &str = "globex-support";

pub const KEYS: &[DemoKey] = &[
    DemoKey {
        id: "acme-platform",
        tenant: "acme",
        team: Some("platform"),
        // The key the banner offers for the dashboard: the whole tenant's
        // figures (an API key reads its own team's unless granted this).
        settings: "deny_providers = [\"deepseek\"]\nanalytics = \"tenant\"",
    },
    DemoKey {
        id: "acme-web",
        tenant: "acme",
        team: Some("web"),
        settings: "allow_providers = [\"openai\", \"anthropic\", \"groq\"]",
    },
    DemoKey {
        id: "acme-data",
        tenant: "acme",
        team: Some("data"),
        settings: "",
    },
    DemoKey {
        id: "acme-research",
        tenant: "acme",
        team: Some("research"),
        settings: "policy = \"strict\"",
    },
    DemoKey {
        id: "acme-mobile",
        tenant: "acme",
        team: Some("mobile"),
        settings: "policy = \"shadow\"",
    },
    DemoKey {
        id: "acme-dashboard",
        tenant: "acme",
        team: None,
        settings: "role = \"dashboard\"",
    },
    DemoKey {
        id: "globex-support",
        tenant: "globex",
        team: Some("support"),
        settings: "",
    },
];

/// Tenants and their default policies.
pub const TENANTS: &[(&str, &str)] = &[("acme", "equivalent"), ("globex", "equivalent")];

/// How one kind of client uses the gateway.
pub struct Profile {
    pub key: &'static str,
    pub user_agent: &'static str,
    /// Share of all requests.
    pub weight: u32,
    pub models: &'static [(&'static str, u32)],
    /// Prompt and completion token ranges (log-uniform).
    pub prompt: (u64, u64),
    pub completion: (u64, u64),
    pub stream: f64,
    /// Share of requests that send tools.
    pub tools: f64,
    /// Share of requests that send an image.
    pub vision: f64,
    pub embeddings: bool,
}

pub const PROFILES: &[Profile] = &[
    Profile {
        key: "acme-platform",
        user_agent: "Cursor/1.7.33 (darwin arm64)",
        weight: 26,
        models: &[("claude-sonnet-4-5", 45), ("gpt-4o", 35), ("gpt-4.1", 20)],
        prompt: (10_000, 110_000),
        completion: (150, 1_400),
        stream: 1.0,
        tools: 0.6,
        vision: 0.03,
        embeddings: false,
    },
    Profile {
        key: "acme-platform",
        user_agent: "Continue/1.2.4 (vscode)",
        weight: 18,
        models: &[
            ("gpt-4o", 55),
            ("gpt-4o-mini", 25),
            ("claude-haiku-4-5", 20),
        ],
        prompt: (3_000, 30_000),
        completion: (20, 500),
        stream: 1.0,
        tools: 0.1,
        vision: 0.0,
        embeddings: false,
    },
    Profile {
        key: "acme-platform",
        user_agent: "LangChain/0.3.27 (python)",
        weight: 5,
        models: &[("auto", 70), ("auto:strong", 30)],
        prompt: (1_000, 6_000),
        completion: (100, 700),
        stream: 0.3,
        tools: 0.3,
        vision: 0.0,
        embeddings: false,
    },
    Profile {
        key: "acme-web",
        user_agent: "OpenAI/JS 4.77.0",
        weight: 16,
        models: &[("gpt-4o", 50), ("gpt-4.1-mini", 30), ("o4-mini", 20)],
        prompt: (1_500, 12_000),
        completion: (80, 600),
        stream: 0.4,
        tools: 0.2,
        vision: 0.05,
        embeddings: false,
    },
    Profile {
        key: "acme-data",
        user_agent: "OpenAI/Python 1.54.0",
        weight: 12,
        models: &[("gpt-4o", 70), ("gpt-4.1", 30)],
        prompt: (2_000, 12_000),
        completion: (40, 300),
        stream: 0.0,
        tools: 0.0,
        vision: 0.0,
        embeddings: false,
    },
    Profile {
        key: "acme-data",
        user_agent: "OpenAI/Python 1.54.0",
        weight: 6,
        models: &[
            ("text-embedding-3-small", 80),
            ("text-embedding-3-large", 20),
        ],
        prompt: (200, 2_000),
        completion: (0, 0),
        stream: 0.0,
        tools: 0.0,
        vision: 0.0,
        embeddings: true,
    },
    Profile {
        key: "acme-research",
        user_agent: "aider/0.86.1",
        weight: 3,
        models: &[("claude-opus-4-5", 60), ("gpt-5.5", 40)],
        prompt: (6_000, 60_000),
        completion: (300, 2_000),
        stream: 1.0,
        tools: 0.0,
        vision: 0.0,
        embeddings: false,
    },
    Profile {
        key: "acme-research",
        user_agent: "OpenAI/Python 1.54.0",
        weight: 2,
        models: &[("llama-local", 100)],
        prompt: (500, 4_000),
        completion: (50, 400),
        stream: 0.3,
        tools: 0.0,
        vision: 0.0,
        embeddings: false,
    },
    Profile {
        key: "acme-mobile",
        user_agent: "python-requests/2.32.3",
        weight: 4,
        models: &[("gpt-4o", 100)],
        prompt: (800, 6_000),
        completion: (50, 400),
        stream: 0.0,
        tools: 0.0,
        vision: 0.0,
        embeddings: false,
    },
    Profile {
        key: "globex-support",
        user_agent: "OpenAI/Python 1.51.2",
        weight: 10,
        models: &[("gpt-4o", 60), ("claude-sonnet-4-5", 40)],
        prompt: (1_500, 12_000),
        completion: (100, 800),
        stream: 0.5,
        tools: 0.4,
        vision: 0.0,
        embeddings: false,
    },
];
