//! `type = "webhook"`: one POST per alert to a SOAR (Tines, Splunk SOAR, XSOAR, a custom
//! receiver) that triggers a revocation playbook. Body: the alert in the sink's format, or a
//! JSON template with `{{path}}` placeholders (`{{alert}}` = the whole document,
//! `{{finding_info.uid}}`, `{{actor.user.uid}}`, ... any dotted path, JSON-encoded). Headers:
//! the configured static ones, `Idempotency-Key` and `X-Nhid-Finding-Uid` = the finding uid
//! (a receiver drops repeats), and with an HMAC key `X-Nhid-Timestamp: UNIX_SECONDS` and
//! `X-Nhid-Signature: v1=HEX(HMAC-SHA256(key, TIMESTAMP + "." + BODY))`. 2xx and 409 (already
//! have it) are delivered.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::format::Format;
use super::http::{HttpCore, HttpSettings};
use super::{AlertOut, Sink, SinkError};

/// Settings of a webhook sink.
pub struct WebhookSettings {
    /// HTTP settings (url = the full endpoint).
    pub http: HttpSettings,
    /// Static headers (values may be secrets; never logged).
    pub headers: Vec<(String, String)>,
    /// HMAC-SHA256 signing key.
    pub hmac_key: Option<String>,
    /// Body template (JSON text with `{{path}}` placeholders).
    pub template: Option<String>,
    /// Document format.
    pub format: Format,
}

/// The webhook sink.
pub struct WebhookSink {
    core: HttpCore,
    s: WebhookSettings,
}

/// `v1=HEX(HMAC-SHA256(key, TIMESTAMP "." BODY))`.
pub fn signature(key: &[u8], timestamp: u64, body: &[u8]) -> String {
    // new_from_slice accepts keys of any length.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let out = mac.finalize().into_bytes();
    let mut s = String::from("v1=");
    for b in out {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Checks that a template gives JSON whatever the values are: every placeholder is filled once
/// with a string and once with a number (a placeholder inside a JSON string literal fails).
pub fn check_template(template: &str) -> Result<(), String> {
    for probe in ["\"x\"", "1"] {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start + 2..].find("}}") else {
                return Err("unclosed {{".into());
            };
            out.push_str(probe);
            rest = &rest[start + 2 + end + 2..];
        }
        out.push_str(rest);
        serde_json::from_str::<Value>(&out)
            .map_err(|e| format!("not JSON once filled (placeholders must stand for whole values, not sit inside strings): {e}"))?;
    }
    Ok(())
}

/// Fills `{{path}}` placeholders with JSON-encoded values of `doc` (`{{alert}}` = all of it;
/// a missing path is `null`).
pub fn fill_template(template: &str, doc: &Value) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let path = after[..end].trim();
        let v = if path == "alert" {
            doc
        } else {
            super::format::get(doc, path)
        };
        out.push_str(&v.to_string());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

impl WebhookSink {
    /// Builds the sink; the template must give valid JSON.
    pub fn new(name: &str, s: WebhookSettings) -> Result<Self, String> {
        if let Some(t) = &s.template {
            check_template(t).map_err(|e| format!("template: {e}"))?;
        }
        Ok(WebhookSink {
            core: HttpCore::new(name, s.http.clone())?,
            s,
        })
    }

    /// Sends one alert; Ok(false) when the receiver looks down (retries spent, not refused).
    fn send_one(&mut self, a: &AlertOut) -> Result<bool, SinkError> {
        // A template picks fields by path, so it needs the document as a JSON tree; without
        // one the rendered bytes go as they are.
        let body: Vec<u8> = match &self.s.template {
            Some(t) => {
                let doc = super::format::to_value(self.s.format, &a.alert)
                    .map_err(|e| SinkError::all(format!("alert JSON: {e}")))?;
                fill_template(t, &doc).into_bytes()
            }
            None => a.render(self.s.format).to_vec(),
        };
        let url = self.s.http.url.clone();
        // Every version of an alert is its own delivery: receivers that drop repeated keys
        // still get updates (CONTRACTS: idempotency = uid + sequence).
        let seq = a.alert.metadata.sequence.to_string();
        let key = format!("{}:{seq}", a.uid);
        let r = self.core.exchange(|c| {
            let mut r = c
                .post(&url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", &key)
                .header("X-Nhid-Finding-Uid", &a.uid)
                .header("X-Nhid-Sequence", &seq)
                .body(body.clone());
            for (k, v) in &self.s.headers {
                r = r.header(k, v);
            }
            if let Some(key) = &self.s.hmac_key {
                // Signed per attempt: a fresh timestamp keeps replay windows short.
                let ts = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                r = r
                    .header("X-Nhid-Timestamp", ts.to_string())
                    .header("X-Nhid-Signature", signature(key.as_bytes(), ts, &body));
            }
            r
        });
        match r {
            Ok(_) => Ok(true),
            // 409: the receiver already has this alert (idempotency key seen).
            Err(f) if f.status == Some(reqwest::StatusCode::CONFLICT) => Ok(true),
            Err(f) => {
                self.core.dead_letter(&[a], &f.reason)?;
                Ok(f.rejected)
            }
        }
    }
}

impl Sink for WebhookSink {
    fn set_shutdown(&mut self, stop: crate::shutdown::Shutdown) {
        self.core.stop = stop;
    }

    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError> {
        for (i, a) in batch.iter().enumerate() {
            if !self.send_one(a)? {
                // The receiver is down (retries spent on a network error or 5xx): the rest of
                // the batch goes to the dead-letter file now instead of each alert waiting out
                // its own retries, so one batch blocks for one retry budget at most.
                return self.core.dead_letter(
                    &batch[i + 1..],
                    "receiver unavailable (an earlier alert of the batch exhausted its retries)",
                );
            }
        }
        Ok(())
    }
}
