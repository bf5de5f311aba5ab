//! `type = "elastic"`: Elasticsearch / OpenSearch `_bulk` API, idempotent by (uid, sequence)
//! (CONTRACTS, "Wave 2 decisions"). An index gets the `index` op with `_id` = the finding uid,
//! `version` = the alert's sequence and `version_type=external_gte`: each newer version of an
//! alert (an update, a risen severity) replaces the document, and a re-delivered or older one
//! is refused as a version conflict (409) and counts as delivered. A data stream (create-only,
//! `data_stream = true`) gets one `create` per version with `_id` = `UID:SEQ`; a repeat is a
//! 409 too.
//! Documents default to ECS field names (`event.kind`, `rule.*`, `threat.*`, `user.*`,
//! `source.geo.*`, `source.as.*`). The bulk response is read item by item: 2xx and 409 are
//! done, 429 and 5xx items are retried (only those), other failures are dead-lettered with
//! the item's error. Auth: `Authorization: ApiKey KEY` or basic auth.

use serde_json::{json, Value};

use super::format::Format;
use super::http::{HttpCore, HttpSettings};
use super::{AlertOut, Sink, SinkError};

/// Settings of an Elastic sink.
pub struct ElasticSettings {
    /// HTTP settings (url = the cluster, e.g. `https://es:9200`).
    pub http: HttpSettings,
    /// Index or data stream.
    pub index: String,
    /// `index` is a data stream: one document per alert version.
    pub data_stream: bool,
    /// API key (base64 `id:key` as Elastic issues it).
    pub api_key: Option<String>,
    /// Basic auth.
    pub username: Option<String>,
    /// Basic auth password.
    pub password: Option<String>,
    /// Alerts per request.
    pub batch_max: usize,
    /// Document format.
    pub format: Format,
}

/// The Elastic sink.
pub struct ElasticSink {
    core: HttpCore,
    s: ElasticSettings,
}

/// What the bulk response said about one item.
enum Item {
    Done,
    Retry(String),
    Refused(String),
}

fn item_outcome(item: &Value) -> Item {
    // {"create": {"status": 201, "error": {...}}} or {"index": {...}}; 409 is a version
    // conflict (a newer or the same version is stored) or an existing `UID:SEQ`: delivered.
    let op = item
        .as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .unwrap_or(Value::Null);
    let status = op["status"].as_u64().unwrap_or(0);
    let error = || {
        let e = &op["error"];
        format!(
            "HTTP {status} {}: {}",
            e["type"].as_str().unwrap_or(""),
            e["reason"].as_str().unwrap_or("")
        )
    };
    match status {
        200..=299 | 409 => Item::Done,
        429 | 500..=599 => Item::Retry(error()),
        _ => Item::Refused(error()),
    }
}

impl ElasticSink {
    /// Builds the sink.
    pub fn new(name: &str, s: ElasticSettings) -> Result<Self, String> {
        Ok(ElasticSink {
            core: HttpCore::new(name, s.http.clone())?,
            s,
        })
    }

    fn body(&self, chunk: &[&AlertOut]) -> Result<Vec<u8>, SinkError> {
        let mut body = Vec::new();
        for a in chunk {
            let seq = a.alert.metadata.sequence;
            let action = if self.s.data_stream {
                json!({"create": {"_index": self.s.index, "_id": format!("{}:{seq}", a.uid)}})
            } else {
                json!({"index": {
                    "_index": self.s.index,
                    "_id": a.uid,
                    "version": seq,
                    "version_type": "external_gte",
                }})
            };
            serde_json::to_writer(&mut body, &action)
                .map_err(|e| SinkError::all(format!("alert JSON: {e}")))?;
            body.push(b'\n');
            body.extend_from_slice(a.render(self.s.format));
            body.push(b'\n');
        }
        Ok(body)
    }

    fn send_chunk(&mut self, chunk: &[&AlertOut]) -> Result<(), SinkError> {
        let url = format!("{}/_bulk", self.s.http.url.trim_end_matches('/'));
        let mut pending: Vec<&AlertOut> = chunk.to_vec();
        let mut round = 0u32;
        loop {
            let body = self.body(&pending)?;
            let r = self.core.exchange(|c| {
                let mut r = c
                    .post(&url)
                    .header("Content-Type", "application/x-ndjson")
                    .body(body.clone());
                if let Some(k) = &self.s.api_key {
                    r = r.header("Authorization", format!("ApiKey {k}"));
                } else if let Some(u) = &self.s.username {
                    r = r.basic_auth(u, self.s.password.as_deref());
                }
                r
            });
            let resp = match r {
                Ok((_, b)) => b,
                Err(f) => return self.core.dead_letter(&pending, &f.reason),
            };
            let v: Value = serde_json::from_slice(&resp).unwrap_or(Value::Null);
            if v["errors"].as_bool() == Some(false) {
                return Ok(());
            }
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if items.len() != pending.len() {
                let reason = format!(
                    "bulk response has {} item(s) for {} document(s)",
                    items.len(),
                    pending.len()
                );
                return self.core.dead_letter(&pending, &reason);
            }
            let mut retry = Vec::new();
            let mut last_reason = String::new();
            for (a, item) in pending.iter().zip(&items) {
                match item_outcome(item) {
                    Item::Done => {}
                    Item::Retry(reason) => {
                        last_reason = reason;
                        retry.push(*a);
                    }
                    Item::Refused(reason) => self.core.dead_letter(&[a], &reason)?,
                }
            }
            if retry.is_empty() {
                return Ok(());
            }
            round += 1;
            metrics::counter!("nhid_sink_retries_total", "sink" => self.core.name.clone())
                .increment(1);
            if round > self.core.settings.max_retries || !self.core.wait(round, None) {
                let reason = format!("{last_reason} (gave up after {round} bulk round(s))");
                return self.core.dead_letter(&retry, &reason);
            }
            pending = retry;
        }
    }
}

impl Sink for ElasticSink {
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
