//! `gateway demo`: the gateway on the embedded store with built-in simulated
//! providers and synthetic traffic, so the dashboard fills without any key.
