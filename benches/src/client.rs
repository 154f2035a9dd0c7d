//! One keep-alive HTTP/1.1 connection with TCP_NODELAY, and one chat request over
//! it: send, then read the whole body, noting when its first bytes arrived and,
//! for streams, whether the last event was `data: [DONE]`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Everything needed to build the same request again and again.
#[derive(Clone)]
pub struct Template {
    pub addr: SocketAddr,
    pub uri: Uri,
    pub host: HeaderValue,
    pub authorization: HeaderValue,
    pub body: Bytes,
    pub stream: bool,
}

impl Template {
    pub fn request(&self) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
        Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(CONTENT_LENGTH, self.body.len())
            .body(Full::new(self.body.clone()))
    }
}

/// A small, realistic chat body (about 400 bytes).
pub fn chat_body(model: &str, stream: bool) -> Bytes {
    let mut body = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a concise assistant for a software team. Answer in plain English."},
            {"role": "user", "content": "Summarize the main risks of rolling out a new payment service on a Friday afternoon, in three short bullet points."}
        ],
        "temperature": 0.2,
        "max_tokens": 256,
        "user": "bench-user-1"
    });
    if stream {
        body["stream"] = serde_json::Value::Bool(true);
    }
    Bytes::from(body.to_string())
}

/// How one request ended. Only `Ok` carries timings that enter the histograms.
pub enum Outcome {
    Ok {
        /// When the first non-empty body frame arrived.
        first_byte: Instant,
    },
    /// A well-formed HTTP answer with a status other than 200.
    Status(u16),
    /// A 200 stream that ended without `data: [DONE]`.
    Incomplete,
    /// The connection failed while sending or reading: it must be replaced.
    Broken(&'static str),
}

pub struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, driver) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        // The driver ends when the connection closes; errors show up on `send`.
        tokio::spawn(async move {
            let _ = driver.await;
        });
        Ok(Connection { sender })
    }

    /// Whether the connection can take a request (false once the server closed it).
    pub async fn usable(&mut self) -> bool {
        self.sender.ready().await.is_ok()
    }

    /// Sends one request and reads its whole answer.
    pub async fn exchange(&mut self, template: &Template) -> Outcome {
        if self.sender.ready().await.is_err() {
            return Outcome::Broken("closed");
        }
        let Ok(request) = template.request() else {
            return Outcome::Broken("request");
        };
        let response = match self.sender.send_request(request).await {
            Ok(response) => response,
            Err(_) => return Outcome::Broken("send"),
        };
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut first_byte = None;
        // The last few bytes seen, enough to recognise a final `data: [DONE]\n\n`.
        let mut tail: Vec<u8> = Vec::with_capacity(32);
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Outcome::Broken("body");
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            first_byte.get_or_insert_with(Instant::now);
            if template.stream {
                tail.extend_from_slice(&data[data.len().saturating_sub(32)..]);
                let excess = tail.len().saturating_sub(32);
                tail.drain(..excess);
            }
        }
        if status != 200 {
            return Outcome::Status(status);
        }
        let first_byte = first_byte.unwrap_or_else(Instant::now);
        let done = trim_end(&tail).ends_with(b"data: [DONE]");
        if template.stream && !done {
            return Outcome::Incomplete;
        }
        Outcome::Ok { first_byte }
    }
}

impl Connection {
    /// Sends one request and returns its status and whole body, for callers
    /// that check what an answer says; `Err` names what broke.
    pub async fn exchange_body(
        &mut self,
        template: &Template,
    ) -> Result<(u16, Bytes), &'static str> {
        self.sender.ready().await.map_err(|_| "closed")?;
        let request = template.request().map_err(|_| "request")?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|_| "send")?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(|_| "body")?;
        Ok((status, body.to_bytes()))
    }
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Opens a connection, retrying briefly (a server may still be starting).
pub async fn open_with_retry(addr: SocketAddr) -> std::io::Result<Connection> {
    let mut last = None;
    for _ in 0..20 {
        match Connection::open(addr).await {
            Ok(connection) => return Ok(connection),
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("cannot connect")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_end_of_a_stream() {
        assert!(trim_end(b"x\n\ndata: [DONE]\n\n").ends_with(b"data: [DONE]"));
        assert!(!trim_end(b"data: {\"a\":1}\n\n").ends_with(b"data: [DONE]"));
        assert_eq!(trim_end(b"  \n"), b"");
    }

    #[test]
    fn bodies_are_valid_json() {
        let body: serde_json::Value = serde_json::from_slice(&chat_body("m\"x", true)).unwrap();
        assert_eq!(body["model"], "m\"x");
        assert_eq!(body["stream"], true);
        let body: serde_json::Value = serde_json::from_slice(&chat_body("m", false)).unwrap();
        assert!(body.get("stream").is_none());
    }
}
