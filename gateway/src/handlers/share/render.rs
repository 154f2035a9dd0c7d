//! What the share routes send besides JSON: the page shell, the embeddable
//! tiles page, the tiles as SVG, and the pages (images) that say a link is
//! unknown, gone, password-protected or busy. Every text from outside (a
//! label, a filter) is escaped, and money shown as the dashboard shows it
//! (`text`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::text::{escape, money};
use crate::error::GatewayError;

const PAGE: &str = include_str!("../../../../dashboards/share.html");

/// Whether other sites may frame an answer: the page never; the embed as
/// `[shares] frame_ancestors` says.
pub enum Framing {
    Deny,
    Allow(String),
}

/// The page's scripts and styles from this origin only, its data from here.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

fn html(status: StatusCode, body: String, framing: &Framing) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let csp = match framing {
        Framing::Deny => {
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            PAGE_CSP.to_owned()
        }
        // No script at all; inline styles only (the page is one file).
        Framing::Allow(ancestors) => format!(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             form-action 'none'; frame-ancestors {ancestors}"
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The page shell, with versioned asset URLs (no figures in it).
pub fn page() -> Response {
    let body = crate::handlers::dashboard::versioned(PAGE);
    html(StatusCode::OK, body, &Framing::Deny)
}

/// The four headline tiles of `figures` (name, shown value), if it has them.
fn tiles(figures: &Value) -> Option<Vec<(&'static str, String)>> {
    let t = figures.get("panels")?.get("tiles")?;
    let text = |name: &str| t.get(name).and_then(Value::as_str).unwrap_or("");
    let pct = match t.get("savings_pct").and_then(Value::as_str) {
        Some(p) => format!("{p}%"),
        None => "–".to_owned(),
    };
    Some(vec![
        ("Spend", money(text("spend_usd"))),
        ("Would have cost", money(text("baseline_usd"))),
        ("Saved", money(text("savings_usd"))),
        ("Saved %", pct),
    ])
}

fn caption(figures: &Value) -> String {
    let get = |name: &str| figures.get(name).and_then(Value::as_str).unwrap_or("");
    format!(
        "{} to {} · generated at {}",
        escape(get("from")),
        escape(get("to")),
        escape(get("generated_at"))
    )
}

/// The compact tiles page for an iframe.
pub fn embed(figures: &Value, framing: Framing) -> Response {
    let label = figures
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or("LLM savings");
    let body = match tiles(figures) {
        Some(tiles) => tiles
            .iter()
            .map(|(name, value)| {
                format!(
                    "<div class=t><span>{name}</span><b data-tile>{}</b></div>",
                    escape(value)
                )
            })
            .collect::<String>(),
        None => "<p>This view has no headline tiles.</p>".to_owned(),
    };
    let page = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=robots content=noindex>\
         <title>{label}</title><style>body{{font:14px system-ui,sans-serif;margin:8px;color:#1f2937}}\
         .g{{display:flex;gap:8px;flex-wrap:wrap}}.t{{border:1px solid #e5e7eb;border-radius:8px;\
         padding:8px 12px;min-width:120px}}.t span{{display:block;color:#6b7280;font-size:12px}}\
         .t b{{font-size:20px}}p{{color:#6b7280;font-size:12px;margin:6px 0 0}}</style></head>\
         <body><div class=g>{body}</div><p>{label} · {caption}</p></body></html>",
        label = escape(label),
        caption = caption(figures),
    );
    html(StatusCode::OK, page, &framing)
}

pub fn svg(status: StatusCode, body: &str) -> Response {
    let mut response = (status, body.to_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

fn svg_frame(height: u32, inner: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{height}\" \
         viewBox=\"0 0 640 {height}\" font-family=\"system-ui,sans-serif\">\
         <rect width=\"640\" height=\"{height}\" rx=\"10\" fill=\"#ffffff\" stroke=\"#e5e7eb\"/>\
         {inner}</svg>"
    )
}

/// The headline tiles as an image.
pub fn tiles_svg(figures: &Value) -> String {
    let Some(tiles) = tiles(figures) else {
        return svg_frame(60, "<text x=\"16\" y=\"36\" font-size=\"14\" fill=\"#6b7280\">This view has no headline tiles.</text>");
    };
    let mut inner = String::new();
    for (i, (name, value)) in tiles.iter().enumerate() {
        let x = 16 + 156 * i;
        inner.push_str(&format!(
            "<text x=\"{x}\" y=\"30\" font-size=\"12\" fill=\"#6b7280\">{name}</text>\
             <text x=\"{x}\" y=\"58\" font-size=\"22\" font-weight=\"700\" fill=\"#111827\">{}</text>",
            escape(value)
        ));
    }
    inner.push_str(&format!(
        "<text x=\"16\" y=\"88\" font-size=\"11\" fill=\"#6b7280\">{}</text>",
        caption(figures)
    ));
    svg_frame(100, &inner)
}

/// Title and text of the page a refusal shows.
fn refusal_text(error: &GatewayError) -> (&'static str, String) {
    match error {
        GatewayError::LinkGone(why) => (
            "This link is no longer available",
            format!("This share link {why}. Ask the person who shared it for a new one."),
        ),
        GatewayError::LinkPassword { .. } => (
            "This link needs a password",
            "Open the link itself to enter its password.".to_owned(),
        ),
        GatewayError::NotFound(_) => (
            "Link not found",
            "No share link with this address exists. Check that it was copied whole.".to_owned(),
        ),
        GatewayError::LinkRateLimited { .. } => (
            "Too many requests",
            "This link was opened too often just now. Wait a minute and reload.".to_owned(),
        ),
        other => ("Not available right now", other.to_string()),
    }
}

pub fn error_page(error: &GatewayError, framing: Framing) -> Response {
    let (title, text) = refusal_text(error);
    let page = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=robots content=noindex>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font:16px system-ui,sans-serif;max-width:36rem;\
         margin:15vh auto;padding:0 1rem;color:#1f2937}}p{{color:#4b5563}}</style></head>\
         <body><main><h1 id=share-error data-status=\"{status}\">{title}</h1><p>{text}</p></main></body></html>",
        status = error.status().as_u16(),
        text = escape(&text),
    );
    let mut response = html(error.status(), page, &framing);
    if let GatewayError::LinkRateLimited { retry_after } = error {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

pub fn error_svg(error: &GatewayError) -> String {
    let (title, _) = refusal_text(error);
    svg_frame(
        60,
        &format!("<text x=\"16\" y=\"36\" font-size=\"14\" fill=\"#6b7280\">{title}</text>"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_outside_is_escaped() {
        let figures = serde_json::json!({
            "label": "<img src=x>",
            "from": "2026-01-01", "to": "2026-01-31", "generated_at": "now",
            "panels": {"tiles": {"spend_usd": "12.5", "baseline_usd": "20",
                                  "savings_usd": "7.5", "savings_pct": "37.50"}},
        });
        let svg = tiles_svg(&figures);
        assert!(svg.contains("$12.50") && svg.contains("37.50%"), "{svg}");
        let response = embed(&figures, Framing::Allow("*".into()));
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors *") && csp.contains("default-src 'none'"));
        assert!(!response.headers().contains_key(header::X_FRAME_OPTIONS));
    }
}
