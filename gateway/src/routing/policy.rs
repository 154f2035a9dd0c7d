//! What routing makes of a caller's policy: the virtual model names and whether
//! a deployment is within reach. The policy type itself is configuration
//! ([`crate::config::Policy`]), so configuration does not depend on routing.

use crate::config::Policy;
use crate::routing::table::Deployment;

/// Virtual model names a client may send instead of a model id, with the lowest
/// tier each accepts and whether observed latency outranks price.
pub const VIRTUAL_MODELS: [(&str, u8, bool); 3] = [
    ("auto", 3, false),
    ("auto:fast", 1, true),
    ("auto:strong", 4, false),
];

pub fn virtual_model(name: &str) -> Option<(u8, bool)> {
    VIRTUAL_MODELS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, tier, fast)| (*tier, *fast))
}

impl Policy {
    /// Whether requests may be routed to `deployment`.
    pub fn may_route_to(&self, deployment: &Deployment) -> bool {
        let provider_ok = !self.deny_providers.contains(&deployment.provider_name)
            && self
                .allow_providers
                .as_ref()
                .is_none_or(|allowed| allowed.contains(&deployment.provider_name));
        let denied = self.deny_models.iter().any(|m| deployment.answers_to(m));
        let allowed = self
            .allow_models
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|m| deployment.answers_to(m)));
        provider_ok && !denied && allowed
    }
}
