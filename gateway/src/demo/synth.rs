//! One synthetic request drawn from the workload: which client sends what to
//! which model, and how big it is.

use pricing::tokens::PromptShape;
use pricing::Capabilities;

use super::random::Rng;
use super::workload::{Profile, PROFILES};
use crate::config::Endpoint;
use crate::routing::Requirements;

#[derive(Clone, Copy)]
pub struct Synthetic {
    pub profile: &'static Profile,
    pub model: &'static str,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub stream: bool,
    pub tools: bool,
    pub vision: bool,
}

impl Synthetic {
    pub fn draw(rng: &mut Rng) -> Synthetic {
        let profile = &PROFILES[rng.weighted(&profile_weights())];
        let model = profile.models[rng.weighted(profile.models)].0;
        let (lo, hi) = profile.prompt;
        let (clo, chi) = profile.completion;
        Synthetic {
            profile,
            model,
            prompt_tokens: rng.log_between(lo, hi),
            completion_tokens: if profile.embeddings {
                0
            } else {
                rng.log_between(clo.max(1), chi.max(1))
            },
            stream: !profile.embeddings && rng.chance(profile.stream),
            tools: rng.chance(profile.tools),
            vision: rng.chance(profile.vision),
        }
    }

    /// What routing needs to know, as the request parser would derive it, with
    /// the prompt counted exactly.
    pub fn requirements(&self) -> Requirements {
        let mut capabilities = Capabilities::empty();
        if self.profile.embeddings {
            capabilities = capabilities.union(Capabilities::EMBEDDINGS);
        }
        if self.stream {
            capabilities = capabilities.union(Capabilities::STREAMING);
        }
        if self.tools {
            capabilities = capabilities.union(Capabilities::TOOLS);
        }
        if self.vision {
            capabilities = capabilities.union(Capabilities::VISION);
        }
        Requirements {
            capabilities,
            prompt: PromptShape {
                text_bytes: self.prompt_tokens * 4,
                messages: 2,
                images: u64::from(self.vision),
            },
            prompt_tokens: self.prompt_tokens,
            prompt_tokens_exact: true,
            max_output_tokens: None,
            endpoint: if self.profile.embeddings {
                Endpoint::Embeddings
            } else {
                Endpoint::Chat
            },
        }
    }
}

fn profile_weights() -> Vec<(usize, u32)> {
    PROFILES
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.weight))
        .collect()
}
