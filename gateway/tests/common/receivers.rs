//! Alert receivers for tests: an HTTP receiver (webhook or Slack format) that
//! keeps every request and answers from a script of statuses, and a minimal
//! SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT: what lettre
//! speaks to a plain relay) that keeps every message.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request the HTTP receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    /// Statuses to answer, first first; 200 once empty.
    script: VecDeque<u16>,
}

/// An HTTP receiver on a free port.
#[derive(Clone)]
pub struct HttpReceiver {
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl HttpReceiver {
    /// Answers `script`'s statuses in order, then 200.
    pub async fn start(script: &[u16]) -> HttpReceiver {
        let log = Arc::new(Mutex::new(Log {
            received: Vec::new(),
            script: script.iter().copied().collect(),
        }));
        let app = Router::new().fallback(receive).with_state(log.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpReceiver { addr, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("lock").received.clone()
    }

    /// Waits up to 10 s for at least `count` requests.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} requests, got {}: {:?}",
            self.received().len(),
            self.received()
        );
    }
}

async fn receive(
    State(log): State<Arc<Mutex<Log>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut log = log.lock().expect("lock");
    log.received.push(Received { headers, body });
    let status = log.script.pop_front().unwrap_or(200);
    StatusCode::from_u16(status).expect("status")
}

/// One message the SMTP server accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA, dot-unstuffed, lines joined with `\n`.
    pub data: String,
}

/// A minimal SMTP server on a free port.
#[derive(Clone)]
pub struct SmtpServer {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, kept.clone()));
            }
        });
        SmtpServer { addr, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("lock").clone()
    }

    /// Waits up to 10 s for at least `count` messages.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        for _ in 0..200 {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} mails, got {:?}", self.mails());
    }
}

/// The address inside `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn path_of(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument.rfind('>').unwrap_or(argument.len());
    argument[start..end.max(start)].to_owned()
}

async fn session(socket: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if write
        .write_all(b"220 test.local ESMTP test\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            "250-test.local\r\n250 8BITMIME\r\n".to_owned()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK\r\n".to_owned()
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            "250 OK\r\n".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            from = path_of(&line[10..]);
            "250 OK\r\n".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            to.push(path_of(&line[8..]));
            "250 OK\r\n".to_owned()
        } else if upper == "DATA" {
            if write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut data = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push(line.strip_prefix('.').map_or(line.clone(), str::to_owned));
            }
            mails.lock().expect("lock").push(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data: data.join("\n"),
            });
            "250 OK queued\r\n".to_owned()
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            "502 Command not implemented\r\n".to_owned()
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}
