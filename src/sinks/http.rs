//! What every HTTP sink shares: a rustls client with timeouts, retries with exponential
//! backoff and full jitter on network errors, 408, 429 and 5xx (honouring `Retry-After`), no
//! retry on other 4xx, and a dead-letter file for alerts that could not be delivered — nothing
//! is dropped silently. Secrets (tokens, keys) live only in request headers; they are never
//! logged and never written to the dead-letter file.

use std::path::PathBuf;
use std::time::Duration;

use rand::Rng;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use super::{AlertOut, SinkError};

/// Settings common to HTTP sinks.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Endpoint base URL.
    pub url: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff.
    pub backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Dead-letter file for alerts not delivered.
    pub dead_letter: PathBuf,
}

/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Why an exchange did not succeed.
#[derive(Debug)]
pub struct Failure {
    /// Human-readable reason (status and the start of the body, or the transport error).
    pub reason: String,
    /// True when the receiver refused for good (4xx other than 408/429): no retry helps.
    pub rejected: bool,
    /// The last HTTP status, if an answer came.
    pub status: Option<StatusCode>,
}

/// A client, its retry policy and its dead-letter file.
pub struct HttpCore {
    /// The sink's name (logs, metrics, dead letters).
    pub name: String,
    /// The client.
    pub client: Client,
    /// Settings.
    pub settings: HttpSettings,
    dead: Option<crate::deadletter::DeadLetterFile>,
    /// The process's shutdown handle: once requested, retry loops stop waiting and
    /// dead-letter at once, so a SIGTERM is never held up by a slow receiver.
    pub stop: crate::shutdown::Shutdown,
}

/// Is this status worth retrying?
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// `Retry-After` as a delay: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let d = match v.parse::<u64>() {
        Ok(s) => Duration::from_secs(s),
        Err(_) => httpdate::parse_http_date(v)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    };
    Some(d.min(MAX_RETRY_AFTER))
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(300)]);
    s.replace('\n', " ")
}

impl HttpCore {
    /// Builds the client (rustls, system and webpki roots, plus `ca_file`).
    pub fn new(name: &str, settings: HttpSettings) -> Result<Self, String> {
        let mut b = Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("nhid/", env!("CARGO_PKG_VERSION")))
            // Never follow redirects: a 301/302 would turn the POST into a body-less GET (a
            // false success) and could carry secret headers to another host. 3xx = refused.
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls();
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
            b = b.add_root_certificate(cert);
        }
        let client = b.build().map_err(|e| format!("http client: {e}"))?;
        Ok(HttpCore {
            name: name.to_string(),
            client,
            settings,
            dead: None,
            stop: crate::shutdown::Shutdown::new(),
        })
    }

    /// Waits before retry `attempt` (1-based): `Retry-After` if given, else full jitter over
    /// an exponentially growing cap. Returns false at shutdown (no more retries).
    pub fn wait(&self, attempt: u32, after: Option<Duration>) -> bool {
        if self.stop.is_requested() {
            return false;
        }
        let d = match after {
            Some(d) => d,
            None => {
                let cap = self
                    .settings
                    .backoff
                    .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
                    .min(self.settings.max_backoff);
                let ms = cap.as_millis().max(1) as u64;
                Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
            }
        };
        // Sleep in slices so a shutdown cuts the wait short.
        let until = std::time::Instant::now() + d;
        while std::time::Instant::now() < until {
            if self.stop.is_requested() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50).min(until - std::time::Instant::now()));
        }
        true
    }

    /// One request with retries. `make` builds the request for each attempt; a 2xx response
    /// returns its status and body.
    pub fn exchange(
        &self,
        mut make: impl FnMut(&Client) -> RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), Failure> {
        let mut attempt = 0u32;
        loop {
            let (reason, after, status) = match make(&self.client).send() {
                Ok(resp) => {
                    let status = resp.status();
                    let after = retry_after(resp.headers());
                    match resp.bytes() {
                        Ok(body) if status.is_success() => return Ok((status, body.to_vec())),
                        // Accepted but the answer was cut: not known to be delivered, retry.
                        Err(e) if status.is_success() => (
                            format!("HTTP {status}, answer unreadable: {}", e.without_url()),
                            None,
                            Some(status),
                        ),
                        body => {
                            let body = body.map(|b| b.to_vec()).unwrap_or_default();
                            let reason = format!("HTTP {status}: {}", snippet(&body));
                            if !retryable(status) {
                                return Err(Failure {
                                    reason,
                                    rejected: true,
                                    status: Some(status),
                                });
                            }
                            (reason, after, Some(status))
                        }
                    }
                }
                // A request that cannot be built (bad header value) never will be.
                Err(e) if e.is_builder() => {
                    return Err(Failure {
                        reason: format!("request refused before sending: {}", e.without_url()),
                        rejected: true,
                        status: None,
                    })
                }
                // Without the URL: it may carry credentials (user:pass@, ?token=).
                Err(e) => (format!("request failed: {}", e.without_url()), None, None),
            };
            attempt += 1;
            metrics::counter!("nhid_sink_retries_total", "sink" => self.name.clone()).increment(1);
            if attempt > self.settings.max_retries || !self.wait(attempt, after) {
                return Err(Failure {
                    reason: format!("{reason} (gave up after {attempt} attempt(s))"),
                    rejected: false,
                    status,
                });
            }
            tracing::debug!(sink = %self.name, attempt, %reason, "retrying");
        }
    }

    /// Writes alerts that could not be delivered to the dead-letter file (alert letters, see
    /// [`crate::deadletter`]), synced, and counts them. An error here is retryable: the batch
    /// stays undelivered.
    pub fn dead_letter(&mut self, alerts: &[&AlertOut], reason: &str) -> Result<(), SinkError> {
        if alerts.is_empty() {
            return Ok(());
        }
        tracing::error!(sink = %self.name, alerts = alerts.len(), %reason, "alerts dead-lettered");
        let mut lines = Vec::new();
        for a in alerts {
            lines.extend(crate::deadletter::alert_line(
                &self.name,
                reason,
                &a.uid,
                a.alert.metadata.sequence,
                &a.json,
            ));
        }
        if self.dead.is_none() {
            self.dead = Some(
                crate::deadletter::DeadLetterFile::open(&self.settings.dead_letter)
                    .map_err(|e| SinkError::Retryable(e.to_string()))?,
            );
        }
        if let Some(d) = self.dead.as_mut() {
            d.append(&lines)
                .map_err(|e| SinkError::Retryable(e.to_string()))?;
        }
        metrics::counter!("nhid_sink_dead_letters_total", "sink" => self.name.clone())
            .increment(alerts.len() as u64);
        Ok(())
    }
}
