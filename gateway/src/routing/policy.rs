//! What routing makes of a caller's policy: whether a deployment is within
//! reach. The policy type itself is configuration
//! ([`crate::config::Policy`]), so configuration does not depend on routing.

use crate::config::Policy;
use crate::routing::table::Deployment;

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
