//! One keep-alive HTTP/1.1 connection with TCP_NODELAY, and one request over it
//! (chat or Messages, see `api`): send, then read the whole body, noting when its
//! first bytes arrived and, for streams, whether the last event was the one that
//! ends a complete stream (`data: [DONE]`, `event: message_stop`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::api::Api;

/// Everything needed to build the same request again and again.
#[derive(Clone)]
pub struct Template {
    pub addr: SocketAddr,
    pub uri: Uri,
    pub host: HeaderValue,
    /// The client format: its headers and how its streams end.
    pub api: Api,
    /// The header carrying the key and its value, from [`Api::credential`].
    pub credential: (HeaderName, HeaderValue),
    pub body: Bytes,
    pub stream: bool,
}

impl Template {
    pub fn request(&self) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(HOST, self.host.clone())
            .header(self.credential.0.clone(), self.credential.1.clone());
        for (name, value) in self.api.extra_headers() {
            request = request.header(*name, HeaderValue::from_static(value));
        }
        request
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(CONTENT_LENGTH, self.body.len())
            .body(Full::new(self.body.clone()))
    }
}

/// Bytes kept from the end of a stream: more than the last event of either API
/// and the gateway's cost comment after it.
const TAIL: usize = 1024;

/// How one request ended. Only `Ok` carries timings that enter the histograms.
pub enum Outcome {
    Ok {
        /// When the first non-empty body frame arrived.
        first_byte: Instant,
    },
    /// A well-formed HTTP answer with a status other than 200.
    Status(u16),
    /// A 200 stream whose last event was not the API's end of stream.
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
        // The last bytes seen, enough to hold the final event.
        let mut tail: Vec<u8> = Vec::with_capacity(2 * TAIL);
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
                tail.extend_from_slice(&data[data.len().saturating_sub(TAIL)..]);
                let excess = tail.len().saturating_sub(TAIL);
                tail.drain(..excess);
            }
        }
        if status != 200 {
            return Outcome::Status(status);
        }
        let first_byte = first_byte.unwrap_or_else(Instant::now);
        if template.stream && !template.api.stream_complete(&tail) {
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
