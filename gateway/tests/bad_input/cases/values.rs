//! JSON values of the wrong type, size or syntax for a field, and model names
//! that route somewhere odd. Returned as text, not `serde_json::Value`, so they
//! can be what serde_json would never write: `1e999`, lone surrogates, raw NULs,
//! 10,000 levels of nesting.

use fastrand::Rng;

use super::{ascii, pick, Endpoint};

/// Arrays or objects nested deeper than the parser allows (serde_json: 128).
pub(super) fn deep_nesting(rng: &mut Rng) -> String {
    let depth = pick(rng, &[10_000, 10_000, 10_000, 1_000, 129, 128, 127]);
    match rng.usize(0..4) {
        0 => format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        1 => format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)),
        2 => format!(
            "{}null{}",
            "[{\"a\":".repeat(depth / 2),
            "}]".repeat(depth / 2)
        ),
        _ => "[".repeat(depth),
    }
}

/// A value of the wrong type, size or syntax, and the name of its kind.
pub(super) fn weird_value(rng: &mut Rng, endpoint: Endpoint) -> (&'static str, String) {
    match rng.usize(0..8) {
        0 => ("wrong_type", wrong_type(rng).to_owned()),
        1 => ("huge_number", huge_number(rng)),
        2 => ("deep_nesting", deep_nesting(rng)),
        3 => {
            let len = match endpoint {
                Endpoint::Chat => pick(rng, &[10_000, 100_000, 500_000, 900_000]),
                Endpoint::Embeddings => pick(rng, &[10_000, 100_000, 300_000]),
            };
            ("long_string", format!("\"{}\"", ascii(rng, len)))
        }
        4 => {
            let text = pick(rng, &["\"a\\u0000b\"", "\"\\u0000\"", "\"a\0b\"", "\"\0\""]);
            ("nul", text.to_owned())
        }
        5 => {
            let text = pick(
                rng,
                &[
                    "\"\\ud800\"",
                    "\"\\udc00\\ud800\"",
                    "\"\\uDBFF\\uDFFF\"",
                    "\"h\u{e9}llo \u{4e16}\u{754c} \u{1f389}\"",
                    "\"\\u0001\\u001f\"",
                    "\"\u{202e}rtl\"",
                    "\"\\uFFFF\"",
                    "\"\u{feff}\"",
                ],
            );
            ("unicode", text.to_owned())
        }
        6 => ("invalid_json", invalid_json(rng).to_owned()),
        _ => {
            // Kept small for embeddings: the mock answers one vector per item.
            let count = match endpoint {
                Endpoint::Chat => 5_000,
                Endpoint::Embeddings => 200,
            };
            let item = pick(rng, &["{}", "\"x\"", "1", "null"]);
            let items = vec![item; count].join(",");
            ("many_items", format!("[{items}]"))
        }
    }
}

fn wrong_type(rng: &mut Rng) -> &'static str {
    pick(
        rng,
        &[
            "null",
            "true",
            "false",
            "0",
            "-1",
            "1.5",
            "\"\"",
            "\"true\"",
            "[]",
            "{}",
            "[null]",
            "[{}]",
            "[\"x\"]",
            "[[1,2,3]]",
            "{\"role\":\"user\"}",
            "\"mock-chat\"",
            "\"mock-embed\"",
            "[{\"role\":\"user\",\"content\":\"hi\"}]",
            "{\"include_usage\":true}",
            "{\"include_usage\":\"yes\"}",
            "{\"include_usage\":null}",
            "{\"include_usage\":[]}",
        ],
    )
}

fn huge_number(rng: &mut Rng) -> String {
    match rng.usize(0..10) {
        0 => "9".repeat(400),
        1 => format!("0.{}1", "0".repeat(400)),
        _ => pick(
            rng,
            &[
                "1e999",
                "-1e999",
                "1E+2147483648",
                "1e-999",
                "18446744073709551616",
                "-9223372036854775809",
                "340282366920938463463374607431768211456",
                "-0",
            ],
        )
        .to_owned(),
    }
}

fn invalid_json(rng: &mut Rng) -> &'static str {
    pick(
        rng,
        &[
            "NaN",
            "Infinity",
            "-Infinity",
            "01",
            "1.",
            "+1",
            ".5",
            "tru",
            "nul",
            "'single'",
            "\"unterminated",
            "[1,2,",
            "{\"a\"}",
            "{,}",
            "[,]",
            "\"\\x41\"",
            "\"\\u12\"",
            "undefined",
            "\"tab\there\"",
        ],
    )
}

/// Mostly configured models with odd behaviour (failing, refused, keyless, cut,
/// slow, silent, wrong endpoint), sometimes names that are not models at all.
pub(super) fn odd_model(rng: &mut Rng) -> &'static str {
    if rng.usize(0..10) < 7 {
        pick(
            rng,
            &[
                "fail-500",
                "fail-429",
                "refused",
                "no-key",
                "cut-stream",
                "short-chunks",
                "silent-stream",
                "slow-headers",
                "mock-embed",
                "mock-chat",
            ],
        )
    } else {
        pick(
            rng,
            &[
                "no-such-model",
                "",
                "MOCK-CHAT",
                "mock-chat ",
                "mock+status=500",
                "../mock-chat",
            ],
        )
    }
}
