//! Sending one case and timing it. Well-formed requests go through reqwest, on
//! two shared clients (HTTP/1.1 with keep-alive, h2 with prior knowledge), so
//! the barrage also proves a connection stays usable after every kind of answer;
//! raw bytes go through `wire`. Each exchange, connect to last byte, must finish
//! within [`ANSWER_WITHIN`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::cases::{exceeds_header_limits, Case, HttpCase, Input};
use crate::check::{judge, judge_expectation, Answer, Seen};
use crate::wire;

/// Every exchange, connect to last byte, must finish within this.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

pub struct Clients {
    pub addr: SocketAddr,
    h1: reqwest::Client,
    h2: reqwest::Client,
}

impl Clients {
    pub fn new(addr: SocketAddr) -> reqwest::Result<Self> {
        Ok(Clients {
            addr,
            h1: reqwest::Client::builder().timeout(ANSWER_WITHIN).build()?,
            h2: h2_client()?,
        })
    }
}

fn h2_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(ANSWER_WITHIN)
        .http2_prior_knowledge()
        .build()
}

/// Sends a case and judges what came back, including the case's own [`Expect`].
///
/// [`Expect`]: crate::cases::Expect
pub async fn run(clients: &Clients, case: &Case) -> Result<Seen, String> {
    let started = Instant::now();
    let seen = match &case.input {
        Input::Http(http) => run_http(clients, http, case.framing).await?,
        Input::Raw(raw) => wire::run_raw(clients.addr, raw, case.framing).await?,
    };
    if let Some(status) = seen.status() {
        judge_expectation(case.expect, status)?;
    }
    let took = started.elapsed();
    if took > ANSWER_WITHIN {
        return Err(format!("took {took:?}"));
    }
    Ok(seen)
}

async fn run_http(clients: &Clients, case: &HttpCase, framing: bool) -> Result<Seen, String> {
    match send_http(clients, case).await? {
        Ok(answer) => judge(&answer, case.method == Method::HEAD, framing),
        Err(_) if framing => Ok(Seen::Closed),
        Err(why) => Err(format!("the connection failed without an answer: {why}")),
    }
}

/// Sends one request with reqwest: the answer, or why there was none.
async fn send_http(clients: &Clients, case: &HttpCase) -> Result<Result<Answer, String>, String> {
    // Over h2, a header block over hyper's 16 KiB list limit that spans CONTINUATION
    // frames makes the h2 crate end the whole connection (GOAWAY COMPRESSION_ERROR);
    // such a case gets a connection of its own so it cannot fail the others.
    let own;
    let client = if case.h2 && exceeds_header_limits(&case.headers, true) {
        own = h2_client().map_err(|e| format!("test bug: {e}"))?;
        &own
    } else if case.h2 {
        &clients.h2
    } else {
        &clients.h1
    };
    let url = format!("http://{}{}", clients.addr, case.path);
    let mut request = client
        .request(case.method.clone(), url)
        .body(case.body.clone());
    for (name, value) in &case.headers {
        request = request.header(name.clone(), value.clone());
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => {
            return Err(format!("no answer within {ANSWER_WITHIN:?}"))
        }
        Err(error) if error.is_builder() => return Err(format!("test bug: {error}")),
        Err(error) => return Ok(Err(format!("{error:?}"))),
    };
    let headers = response.headers();
    let status = response.status().as_u16();
    let content_type = headers
        .get("content-type")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let from_app = headers.contains_key("x-request-id");
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("answer body failed after status {status}: {e}"))?;
    Ok(Ok(Answer {
        status,
        content_type,
        from_app,
        body: body.to_vec(),
    }))
}
