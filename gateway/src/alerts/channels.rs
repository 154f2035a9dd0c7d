//! One attempt to deliver one message to one channel: a signed webhook POST, a
//! Slack incoming-webhook POST, or an e-mail over SMTP (plain, no TLS: a relay
//! on the host or its network). Retries are the caller's business (alert
//! notices: `deliver`; scheduled reports: `reports`); this module only says
//! whether an attempt failed in a way worth retrying. What is sent is an
//! [`Outgoing`]: the message already written in each channel's format.
//!
//! Failures are described in the gateway's own words: an HTTP status, "could
//! not connect", the SMTP reply code. Never a URL (a Slack URL is a secret),
//! a credential or the receiver's body.

use std::time::Duration;

use lettre::message::header::{ContentDisposition, ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reqwest::header::CONTENT_TYPE;

use serde_json::Value;

use super::sign;
use crate::config::alerts::{ChannelTarget, EmailTarget};

/// One message written for every kind of channel.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Stable per message and channel (the same on every retry): the
    /// webhook's idempotency key.
    pub id: String,
    /// The webhook's `x-gateway-event` (`alert.firing`, `report.weekly`, ...).
    pub event: &'static str,
    pub webhook: Value,
    pub slack: Value,
    pub email: Email,
}

/// An e-mail: plain text, optionally an HTML alternative and attachments.
#[derive(Debug, Clone, Default)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub file_name: String,
    /// A MIME type, e.g. `text/csv; charset=utf-8`.
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Worth another attempt: no connection, a timeout, 5xx, 429, a transient
    /// SMTP reply.
    pub retryable: bool,
    pub http_status: Option<u16>,
    pub reason: String,
}

/// A sent attempt's HTTP status (`None` for e-mail).
pub type Sent = Option<u16>;

/// Makes one attempt.
pub async fn send(
    client: &reqwest::Client,
    target: &ChannelTarget,
    message: &Outgoing,
    timeout: Duration,
) -> Result<Sent, Failure> {
    match target {
        ChannelTarget::Webhook { url, secret } => {
            let body = message.webhook.to_string().into_bytes();
            let timestamp = chrono::Utc::now().timestamp();
            let request = client
                .post(url.expose())
                .header(CONTENT_TYPE, "application/json")
                .header(sign::TIMESTAMP_HEADER, timestamp.to_string())
                .header(
                    sign::SIGNATURE_HEADER,
                    sign::signature(secret.expose(), timestamp, &body),
                )
                .header(sign::IDEMPOTENCY_HEADER, &message.id)
                .header("x-gateway-event", message.event)
                .body(body);
            post(request, timeout).await
        }
        ChannelTarget::Slack { url } => {
            let body = message.slack.to_string();
            let request = client
                .post(url.expose())
                .header(CONTENT_TYPE, "application/json")
                .body(body);
            post(request, timeout).await
        }
        ChannelTarget::Email(target) => mail(target, &message.email, timeout).await.map(|()| None),
    }
}

async fn post(request: reqwest::RequestBuilder, timeout: Duration) -> Result<Sent, Failure> {
    match request.timeout(timeout).send().await {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                Ok(Some(status.as_u16()))
            } else {
                Err(Failure {
                    retryable: status.is_server_error() || status.as_u16() == 429,
                    http_status: Some(status.as_u16()),
                    reason: format!("the receiver answered {}", status.as_u16()),
                })
            }
        }
        Err(error) => {
            // Described by kind only: reqwest's text would carry the URL.
            let reason = if error.is_timeout() {
                "no answer within the timeout"
            } else if error.is_connect() {
                "could not connect to the receiver"
            } else if error.is_redirect() {
                "the receiver redirected (not followed)"
            } else {
                "the request failed"
            };
            Err(Failure {
                retryable: !error.is_redirect() && !error.is_builder(),
                http_status: None,
                reason: reason.to_owned(),
            })
        }
    }
}

fn mailbox(address: &str) -> Result<Mailbox, Failure> {
    address.parse().map_err(|_| Failure {
        retryable: false,
        http_status: None,
        reason: "an address of the channel is invalid".to_owned(),
    })
}

/// A base64 part: long HTML lines and CSV survive any relay unchanged.
fn part(
    content_type: ContentType,
    disposition: Option<ContentDisposition>,
    body: Vec<u8>,
) -> SinglePart {
    let mut part = SinglePart::builder()
        .header(content_type)
        .header(ContentTransferEncoding::Base64);
    if let Some(disposition) = disposition {
        part = part.header(disposition);
    }
    part.body(body)
}

/// The MIME message: plain text alone, or `multipart/mixed` of a
/// `multipart/alternative` (text, HTML) and the attachments.
fn build_mail(target: &EmailTarget, email: &Email) -> Result<lettre::Message, Failure> {
    let broken = |_| Failure {
        retryable: false,
        http_status: None,
        reason: "the e-mail could not be built".to_owned(),
    };
    let mut builder = lettre::Message::builder()
        .from(mailbox(&target.from)?)
        .subject(email.subject.clone());
    for to in &target.to {
        builder = builder.to(mailbox(to)?);
    }
    if email.html.is_none() && email.attachments.is_empty() {
        return builder
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone())
            .map_err(broken);
    }
    let text = part(
        ContentType::TEXT_PLAIN,
        None,
        email.text.clone().into_bytes(),
    );
    let mut alternative = MultiPart::alternative().singlepart(text);
    if let Some(html) = &email.html {
        alternative = alternative.singlepart(part(
            ContentType::TEXT_HTML,
            None,
            html.clone().into_bytes(),
        ));
    }
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for attachment in &email.attachments {
        let content_type = ContentType::parse(attachment.content_type).map_err(|_| Failure {
            retryable: false,
            http_status: None,
            reason: "an attachment's type is invalid".to_owned(),
        })?;
        let disposition = ContentDisposition::attachment(&attachment.file_name);
        mixed = mixed.singlepart(part(
            content_type,
            Some(disposition),
            attachment.body.clone(),
        ));
    }
    builder.multipart(mixed).map_err(broken)
}

async fn mail(target: &EmailTarget, email: &Email, timeout: Duration) -> Result<(), Failure> {
    let email = build_mail(target, email)?;
    let mut transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.as_str())
            .port(target.port)
            .timeout(Some(timeout));
    if let Some((user, password)) = &target.login {
        transport =
            transport.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    match transport.build().send(email).await {
        Ok(_) => Ok(()),
        Err(error) => {
            let code = error.status().map(|code| code.to_string());
            Err(Failure {
                // A permanent reply (5xx) will not change; anything else (no
                // connection, 4xx, a timeout) may.
                retryable: !error.is_permanent(),
                http_status: None,
                reason: match code {
                    Some(code) => format!("the SMTP server replied {code}"),
                    None if error.is_timeout() => {
                        "the SMTP server did not answer in time".to_owned()
                    }
                    None => "could not talk to the SMTP server".to_owned(),
                },
            })
        }
    }
}
