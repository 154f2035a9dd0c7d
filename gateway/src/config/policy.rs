//! A caller's routing policy: how freely the gateway may substitute the requested
//! model, and which providers and models it may reach. Plain data, read from
//! configuration and applied by routing (`routing::policy`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The requested model only, at whichever configured provider serves it cheapest.
    Strict,
    /// Any model of the requested model's quality tier or better, cheapest first.
    Equivalent,
    /// Forward the requested model as `Strict` would, but work out what
    /// `Equivalent` would have chosen and saved, for a no-risk pilot.
    Shadow,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "strict" => Some(Mode::Strict),
            "equivalent" => Some(Mode::Equivalent),
            "shadow" => Some(Mode::Shadow),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Strict => "strict",
            Mode::Equivalent => "equivalent",
            Mode::Shadow => "shadow",
        }
    }
}

/// A caller's policy: the key's settings over its tenant's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// `None`: every provider; otherwise only these (gateway provider names).
    pub allow_providers: Option<Vec<String>>,
    pub deny_providers: Vec<String>,
    /// `None`: every model; otherwise only these names (requested and routed).
    pub allow_models: Option<Vec<String>>,
    pub deny_models: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Strict,
            allow_providers: None,
            deny_providers: Vec::new(),
            allow_models: None,
            deny_models: Vec::new(),
        }
    }
}

impl Policy {
    /// Whether a client may ask for `name` at all.
    pub fn may_request(&self, name: &str) -> bool {
        !self.deny_models.iter().any(|m| m == name)
            && self
                .allow_models
                .as_ref()
                .is_none_or(|allowed| allowed.iter().any(|m| m == name))
    }
}
