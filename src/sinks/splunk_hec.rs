//! `type = "splunk_hec"`: Splunk HTTP Event Collector. Batches of events are POSTed to
//! `URL/services/collector/event` with `Authorization: Splunk TOKEN`, one JSON envelope per
//! alert (`time`, `host`, `source`, `sourcetype`, `index`, `event`); the event is the alert in
//! the sink's format (`cim` is the natural choice for Splunk). With `ack = true` (indexer
//! acknowledgement) a batch counts as delivered only when Splunk reports it indexed: the
//! request carries an `X-Splunk-Request-Channel`, and `/services/collector/ack` is polled for
//! the returned `ackId`. HEC errors: 400 (malformed, code 5/6) and 401/403 (token) are refused
//! for good and dead-lettered; 503 (server busy, code 9), 429 and other 5xx are retried.

use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::format::Format;
use super::http::{HttpCore, HttpSettings};
use super::{AlertOut, Sink, SinkError};

/// Settings of a HEC sink.
pub struct HecSettings {
    /// HTTP settings (url = the HEC base, e.g. `https://splunk:8088`).
    pub http: HttpSettings,
    /// HEC token.
    pub token: String,
    /// `sourcetype`.
    pub sourcetype: String,
    /// `source`.
    pub source: String,
    /// `index` (default: the token's).
    pub index: Option<String>,
    /// `host` (default: this machine's name).
    pub host: Option<String>,
    /// Wait for indexer acknowledgement.
    pub ack: bool,
    /// How long to wait for it before resending.
    pub ack_timeout: Duration,
    /// Alerts per request.
    pub batch_max: usize,
    /// Event format.
    pub format: Format,
}

/// The HEC sink.
pub struct SplunkHecSink {
    core: HttpCore,
    s: HecSettings,
    channel: String,
}

impl SplunkHecSink {
    /// Builds the sink.
    pub fn new(name: &str, s: HecSettings) -> Result<Self, String> {
        let core = HttpCore::new(name, s.http.clone())?;
        let r: u128 = rand::random();
        let h = format!("{r:032x}");
        // A channel is a GUID.
        let channel = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        Ok(SplunkHecSink { core, s, channel })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.s.http.url.trim_end_matches('/'))
    }

    fn body(&self, chunk: &[&AlertOut]) -> Result<Vec<u8>, SinkError> {
        let mut body = Vec::new();
        for a in chunk {
            let event: &RawValue = serde_json::from_slice(a.render(self.s.format))
                .map_err(|e| SinkError::all(format!("alert JSON: {e}")))?;
            let time = a.alert.time as f64 / 1000.0;
            let mut env = json!({
                "time": time,
                "source": self.s.source,
                "sourcetype": self.s.sourcetype,
                "event": event,
            });
            if let Some(i) = &self.s.index {
                env["index"] = i.as_str().into();
            }
            if let Some(h) = &self.s.host {
                env["host"] = h.as_str().into();
            }
            serde_json::to_writer(&mut body, &env)
                .map_err(|e| SinkError::all(format!("alert JSON: {e}")))?;
            body.push(b'\n');
        }
        Ok(body)
    }

    /// Polls `/services/collector/ack` until `ack_id` is indexed; false on timeout.
    fn wait_ack(&self, ack_id: u64) -> bool {
        let started = Instant::now();
        let url = self.url("/services/collector/ack");
        let body = json!({"acks": [ack_id]}).to_string();
        while started.elapsed() < self.s.ack_timeout {
            let r = self
                .core
                .client
                .post(&url)
                .query(&[("channel", &self.channel)])
                .header("Authorization", format!("Splunk {}", self.s.token))
                .header("X-Splunk-Request-Channel", &self.channel)
                .body(body.clone())
                .send();
            if let Ok(resp) = r {
                let v = resp
                    .bytes()
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                if let Some(v) = v {
                    if v["acks"][ack_id.to_string()].as_bool() == Some(true) {
                        return true;
                    }
                }
            }
            if !self.core.wait(1, Some(Duration::from_millis(500))) {
                return false;
            }
        }
        false
    }

    fn send_chunk(&mut self, chunk: &[&AlertOut]) -> Result<(), SinkError> {
        let body = self.body(chunk)?;
        let url = self.url("/services/collector/event");
        let mut resend = 0u32;
        loop {
            let auth = format!("Splunk {}", self.s.token);
            let result = self.core.exchange(|c| {
                let mut r = c
                    .post(&url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .body(body.clone());
                if self.s.ack {
                    r = r.header("X-Splunk-Request-Channel", &self.channel);
                }
                r
            });
            match result {
                Ok((_, resp)) => {
                    if !self.s.ack {
                        return Ok(());
                    }
                    let ack_id = serde_json::from_slice::<Value>(&resp)
                        .ok()
                        .and_then(|v| v["ackId"].as_u64());
                    match ack_id {
                        // Acknowledgement not enabled on the token: accepted is all we get.
                        None => return Ok(()),
                        Some(id) if self.wait_ack(id) => return Ok(()),
                        Some(id) if self.core.stop.is_requested() => {
                            // Accepted, probably indexed, not confirmed: keep a copy rather than
                            // resending (no duplicates at shutdown, nothing lost either).
                            return self.core.dead_letter(
                                chunk,
                                &format!(
                                    "accepted (ackId {id}) but not yet acknowledged at shutdown"
                                ),
                            );
                        }
                        Some(id) => {
                            resend += 1;
                            if resend > self.core.settings.max_retries {
                                return self.core.dead_letter(
                                    chunk,
                                    &format!(
                                        "not acknowledged (ackId {id}) after {resend} send(s)"
                                    ),
                                );
                            }
                            tracing::warn!(sink = %self.core.name, ack_id = id, "no indexer acknowledgement: resending");
                        }
                    }
                }
                Err(f) => return self.core.dead_letter(chunk, &f.reason),
            }
        }
    }
}

impl Sink for SplunkHecSink {
    fn set_shutdown(&mut self, stop: crate::shutdown::Shutdown) {
        self.core.stop = stop;
    }

    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError> {
        for chunk in batch.chunks(self.s.batch_max.max(1)) {
            self.send_chunk(chunk)?;
        }
        Ok(())
    }
}
