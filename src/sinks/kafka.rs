//! `type = "kafka"`: alerts to a topic, keyed by identity (one identity's alerts stay in order
//! on one partition), with an idempotent producer (`enable.idempotence`, `acks=all`). A batch
//! counts as delivered when the broker acknowledged every message of it; on any delivery error
//! the whole batch is retried (receivers deduplicate on `finding_info.uid`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::{AlertOut, Sink, SinkError};
use crate::config::KafkaSinkConfig;

/// Counts delivery failures reported by the producer's background thread.
#[derive(Default, Clone)]
pub struct DeliveryCounter {
    failed: Arc<AtomicU64>,
    last_error: Arc<std::sync::Mutex<Option<String>>>,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut l) = self.last_error.lock() {
                *l = Some(e.to_string());
            }
        }
    }
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
    pub fn send_all<'a>(
        &self,
        items: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Result<(), SinkError> {
        let before = self.counter.failed.load(Ordering::Relaxed);
        for (key, payload) in items {
            let mut rec = BaseRecord::to(&self.topic).key(key).payload(payload);
            loop {
                match self.producer.send(rec) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        rec = r;
                        std::thread::sleep(Duration::from_millis(5));
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
        let after = self.counter.failed.load(Ordering::Relaxed);
        if after > before {
            let last = self
                .counter
                .last_error
                .lock()
                .ok()
                .and_then(|l| l.clone())
                .unwrap_or_default();
            return Err(SinkError::Retryable(format!(
                "{}: {} message(s) not acknowledged: {last}",
                self.topic,
                after - before
            )));
        }
        Ok(())
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
