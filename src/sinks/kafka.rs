//! `type = "kafka"`: alerts to a topic, keyed by identity (one identity's alerts stay in order
//! on one partition), with an idempotent producer (`enable.idempotence`, `acks=all`). A batch
//! counts as delivered when the broker acknowledged every message of it; on a transient error
//! the whole batch is retried (receivers deduplicate on `finding_info.uid` and
//! `metadata.sequence`); a message refused for good (over `message.max.bytes`) is reported by
//! index and dead-lettered by the daemon, never retried.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::{AlertOut, Refused, Sink, SinkError};
use crate::config::KafkaSinkConfig;

/// Delivery failures reported by the producer's background thread, by message index.
#[derive(Default, Clone)]
pub struct DeliveryCounter {
    failed: Arc<std::sync::Mutex<Vec<(usize, RDKafkaErrorCode, String)>>>,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        if let Err((e, _)) = result {
            let code = e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Unknown);
            if let Ok(mut l) = self.failed.lock() {
                l.push((index, code, e.to_string()));
            }
        }
    }
}

/// Errors no retry fixes for this message (the broker or the client refuses it as it is).
pub fn permanent(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::MessageBatchTooLarge
            | RDKafkaErrorCode::InvalidTimestamp
    )
}

/// The largest message a producer with these properties sends (`message.max.bytes`, default
/// 1,000,000), less room for the key and the record's framing.
pub fn max_message_bytes(properties: &std::collections::BTreeMap<String, String>) -> usize {
    properties
        .get("message.max.bytes")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1_000_000)
        .saturating_sub(4096)
}

/// A producer that sends batches and waits for every acknowledgement.
pub struct BatchProducer {
    producer: ThreadedProducer<DeliveryCounter>,
    counter: DeliveryCounter,
    topic: String,
    timeout: Duration,
}

impl BatchProducer {
    /// Builds a producer for `topic`.
    pub fn new(
        brokers: &str,
        topic: &str,
        idempotent: bool,
        properties: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", brokers)
            .set(
                "enable.idempotence",
                if idempotent { "true" } else { "false" },
            )
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000");
        for (k, v) in crate::config::resolve_properties(properties)? {
            cc.set(k, v);
        }
        let counter = DeliveryCounter::default();
        let producer: ThreadedProducer<DeliveryCounter> =
            cc.create_with_context(counter.clone())
                .map_err(|e| format!("kafka producer: {e}"))?;
        Ok(BatchProducer {
            producer,
            counter,
            topic: topic.to_string(),
            timeout: Duration::from_secs(35),
        })
    }

    /// Sends `(key, payload)` pairs and waits until the broker acknowledged all of them.
    /// Messages refused for good (too large, invalid) come back as [`SinkError::Permanent`]
    /// with their indices, the others being delivered; any other failure is retryable (the
    /// whole batch is sent again: receivers deduplicate).
    pub fn send_all<'a>(
        &self,
        items: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<(), SinkError> {
        if let Ok(mut l) = self.counter.failed.lock() {
            l.clear();
        }
        let mut refused: Vec<(usize, String)> = Vec::new();
        for (i, (key, payload)) in items.enumerate() {
            let mut rec = BaseRecord::with_opaque_to(&self.topic, i)
                .key(key)
                .payload(payload);
            loop {
                match self.producer.send(rec) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        rec = r;
                        // The producer's queue is full: let its thread drain it.
                        self.producer.poll(Duration::from_millis(5));
                    }
                    Err((KafkaError::MessageProduction(code), _)) if permanent(code) => {
                        refused.push((i, format!("{}: {code}", self.topic)));
                        break;
                    }
                    Err((e, _)) => {
                        return Err(SinkError::Retryable(format!("{}: {e}", self.topic)))
                    }
                }
            }
        }
        self.producer
            .flush(self.timeout)
            .map_err(|e| SinkError::Retryable(format!("{}: flush: {e}", self.topic)))?;
        let failed = self
            .counter
            .failed
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        if let Some((_, _, e)) = failed.iter().find(|f| !permanent(f.1)) {
            return Err(SinkError::Retryable(format!(
                "{}: {} message(s) not acknowledged: {e}",
                self.topic,
                failed.len()
            )));
        }
        refused.extend(failed.into_iter().map(|(i, _, e)| (i, e)));
        if refused.is_empty() {
            return Ok(());
        }
        refused.sort_by_key(|r| r.0);
        Err(SinkError::Permanent {
            reason: refused[0].1.clone(),
            refused: Refused::Some(refused.into_iter().map(|r| r.0).collect()),
        })
    }
}

/// Kafka alert sink.
pub struct KafkaSink {
    producer: BatchProducer,
}

impl KafkaSink {
    /// Builds the producer (connects lazily).
    pub fn new(c: &KafkaSinkConfig) -> Result<Self, String> {
        Ok(KafkaSink {
            producer: BatchProducer::new(&c.brokers, &c.topic, c.idempotent, &c.properties)?,
        })
    }
}

impl Sink for KafkaSink {
    fn send(&mut self, batch: &[&AlertOut]) -> Result<(), SinkError> {
        self.producer.send_all(
            batch
                .iter()
                .map(|a| (a.identity.as_bytes(), a.json.as_slice())),
        )
    }
}
