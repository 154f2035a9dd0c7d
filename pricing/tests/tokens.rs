//! The linear-time tokenizer against tiktoken-rs (the reference it replaced):
//! same counts on a table of ordinary texts and on random short texts, and an
//! answer within the byte bound for adversarial inputs that stall or crash
//! tiktoken (one 1 MB word, 1 MB of punctuation, of spaces, of mixed scripts).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup must stop the test"
)]

use pricing::tokens::{count, count_within, upper_bound, PromptShape, Tokenizer};
use tiktoken_rs::CoreBPE;

fn reference(tokenizer: Tokenizer) -> CoreBPE {
    match tokenizer {
        Tokenizer::Cl100k => tiktoken_rs::cl100k_base().unwrap(),
        _ => tiktoken_rs::o200k_base().unwrap(),
    }
}

/// Text tokens only: `count` without the per-request and per-message overhead.
fn text_tokens(tokenizer: Tokenizer, text: &str) -> u64 {
    count(tokenizer, [text], 0, 0) - pricing::tokens::TOKENS_PER_REQUEST
}

const ORDINARY: &[&str] = &[
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Summarize the main risks of rolling out a new payment service on a Friday afternoon, in three short bullet points.",
    "I'm sure they'll say it's fine; we'd've known. DON'T YOU THINK SO?",
    "fn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n    println!(\"{x:?}\");\n}\n",
    "def f(a, b):\n\treturn a ** b  # power\n\n\n",
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.2}",
    "SELECT id, sum(cost) FROM usage_events WHERE tenant_id = $1 GROUP BY 1 ORDER BY 2 DESC;",
    "https://example.com/path/to/page?query=1&other=two#fragment",
    "1234567890 0987654321 3.14159265358979 1,000,000 2026-12-07T02:38:53Z",
    "Grüße aus München — Straße, Äpfel, Öl, Übermut.",
    "東京とパリと北京。日本語の文章はスペースなしで続きます。",
    "中文文本没有空格，但也需要正确分词。",
    "Привет, как дела? Всё хорошо, спасибо!",
    "مرحبا بالعالم، هذا نص عربي.",
    "नमस्ते दुनिया, यह हिंदी पाठ है।",
    "안녕하세요 세계, 이것은 한국어 텍스트입니다.",
    "Ελληνικά γράμματα: αβγδε ΑΒΓΔΕ",
    "emoji 🚀🚀 👩‍👩‍👧‍👦 🇫🇷 ✔️ and more",
    "   leading spaces, trailing spaces   ",
    "line one\r\nline two\r\n\r\n\tindented\n \n  \n",
    "!@#$%^&*()_+{}|:<>?~`-=[]\\;',./",
    "CamelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "e\u{301}e\u{301} composed é vs decomposed",
    "\u{0}\u{1}\u{7f} control \u{200b}zero\u{200b}width\u{feff}",
    "",
];

#[test]
fn counts_match_tiktoken_on_ordinary_text() {
    for tokenizer in [Tokenizer::O200k, Tokenizer::Cl100k] {
        let tiktoken = reference(tokenizer);
        for text in ORDINARY {
            let expected = tiktoken.encode_ordinary(text).len() as u64;
            assert_eq!(
                text_tokens(tokenizer, text),
                expected,
                "{tokenizer:?} {text:?}"
            );
        }
        // A long ordinary prompt: every table text, many times.
        let long = ORDINARY.join(" ").repeat(50);
        assert_eq!(
            text_tokens(tokenizer, &long),
            tiktoken.encode_ordinary(&long).len() as u64,
            "{tokenizer:?} long prompt"
        );
    }
}

/// Random short texts drawn from many scripts, digits, spaces and symbols.
#[test]
fn counts_match_tiktoken_on_random_text() {
    const POOL: &[&str] = &[
        "a", "Z", "é", "ß", "ж", "Ω", "日", "本", "한", "ب", "ह", "ा", "🚀", "\u{200d}", "\u{301}",
        "0", "7", "٣", " ", "  ", "\t", "\n", "\r\n", "'s", "'LL", "!", "?", "...", "/", "\\",
        "\"", "{", "}", "_", "-", "€", "\u{a0}", "\u{3000}",
    ];
    let mut rng = fastrand::Rng::with_seed(8);
    for tokenizer in [Tokenizer::O200k, Tokenizer::Cl100k] {
        let tiktoken = reference(tokenizer);
        for _ in 0..500 {
            let len = rng.usize(1..60);
            let text: String = (0..len).map(|_| POOL[rng.usize(..POOL.len())]).collect();
            assert_eq!(
                text_tokens(tokenizer, &text),
                tiktoken.encode_ordinary(&text).len() as u64,
                "{tokenizer:?} {text:?}"
            );
        }
    }
}

/// One-megabyte inputs built to be worst cases for a merge-based BPE or its
/// pre-tokenizing regex.
fn adversarial() -> Vec<(&'static str, String)> {
    const MB: usize = 1 << 20;
    let fill = |unit: &str| {
        let mut text = unit.repeat(MB / unit.len() + 1);
        let mut end = MB;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text
    };
    let mut rng = fastrand::Rng::with_seed(1);
    let random_word: String = (0..MB).map(|_| rng.lowercase()).collect();
    vec![
        ("one word of one letter", fill("a")),
        ("one word of random letters", random_word),
        ("punctuation", fill("!@#$%^&*()")),
        ("spaces", fill(" ")),
        ("line breaks and spaces", fill("\n \r\t")),
        ("digits", fill("1234567890")),
        (
            "mixed scripts",
            fill("日本語Ελληνικάрусскийעבריתالعربية한국어ไทยहिन्दी😀e\u{301}"),
        ),
        ("combining marks", fill("\u{301}")),
        ("zero-width joiners", fill("👩\u{200d}")),
    ]
}

#[test]
fn adversarial_inputs_are_counted_within_the_byte_bound() {
    for (name, text) in adversarial() {
        let shape = PromptShape {
            text_bytes: text.len() as u64,
            messages: 1,
            images: 0,
        };
        for tokenizer in [Tokenizer::O200k, Tokenizer::Cl100k, Tokenizer::Estimated] {
            let tokens = count(tokenizer, [text.as_str()], 1, 0);
            assert!(
                tokens <= upper_bound(shape),
                "{name} {tokenizer:?}: {tokens}"
            );
            assert!(tokens > 3, "{name} {tokenizer:?}: {tokens}");
        }
    }
}

#[test]
fn counting_stops_when_the_budget_is_spent() {
    let text = "word ".repeat(100_000);
    // Never allowed to start.
    assert_eq!(
        count_within(Tokenizer::O200k, [text.as_str()], 1, 0, || false),
        None
    );
    // Allowed three checks: stops part-way through 500 kB.
    let mut checks = 0;
    let stopped = count_within(Tokenizer::O200k, [text.as_str()], 1, 0, || {
        checks += 1;
        checks <= 3
    });
    assert_eq!(stopped, None);
    assert_eq!(checks, 4);
    // An unlimited budget gives the plain count.
    assert_eq!(
        count_within(Tokenizer::O200k, [text.as_str()], 1, 0, || true),
        Some(count(Tokenizer::O200k, [text.as_str()], 1, 0))
    );
}
