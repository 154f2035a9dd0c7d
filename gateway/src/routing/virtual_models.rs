//! The virtual model names (`auto`, `auto:fast`, `auto:strong`) a client may
//! send instead of a model id. A leaf: the table (which knows them as names),
//! the decision (which resolves them) and the model list all read it, and it
//! reads nothing of routing.

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
