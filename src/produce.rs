//! `nhid produce`: writes audit records from files into a Kafka topic, one record per message,
//! keyed by the record's identity key (so one identity's records land, in order, on one
//! partition — the ordering the daemon relies on). For loading archived logs into a test
//! topic, the broker benchmark and the integration tests.
//!
//! Records that do not parse are still sent (without a key): a consumer's dead-letter handling
//! can be exercised with them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::parsers::{Format, Parsers};
use crate::sinks::kafka::BatchProducer;
use crate::sources::file::{read_input, Item, ReadLimits};

/// What `produce` sent.
#[derive(Debug, Default, Clone)]
pub struct ProduceReport {
    /// Messages acknowledged by the broker.
    pub messages: u64,
    /// Of which without a key (the record did not parse).
    pub unkeyed: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Wall time from the first send to the last acknowledgement.
    pub elapsed: Duration,
}

/// Errors of `produce`.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    /// The producer could not be created.
    #[error("kafka producer: {0}")]
    Producer(String),
    /// An input could not be read.
    #[error(transparent)]
    Input(#[from] crate::sources::file::InputError),
    /// The broker did not acknowledge every message.
    #[error("delivery: {0}")]
    Delivery(String),
}

/// Creates `topic` with `partitions` partitions (replication factor 1 if the cluster has one
/// broker, else the broker default) unless it exists already.
pub fn ensure_topic(
    brokers: &str,
    topic: &str,
    partitions: i32,
    properties: &BTreeMap<String, String>,
) -> Result<(), ProduceError> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::types::RDKafkaErrorCode;
    let mut cc = rdkafka::ClientConfig::new();
    cc.set("bootstrap.servers", brokers);
    for (k, v) in crate::config::resolve_properties(properties).map_err(ProduceError::Producer)? {
        cc.set(k, v);
    }
    let admin: AdminClient<DefaultClientContext> = cc
        .create()
        .map_err(|e| ProduceError::Producer(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ProduceError::Producer(e.to_string()))?;
    let brokers_seen = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .map(|m| m.brokers().len())
        .map_err(|e| ProduceError::Producer(format!("metadata: {e}")))?;
    let replication = if brokers_seen <= 1 {
        TopicReplication::Fixed(1)
    } else {
        TopicReplication::Fixed(-1)
    };
    let new = NewTopic::new(topic, partitions, replication);
    let res = rt
        .block_on(admin.create_topics([&new], &AdminOptions::new()))
        .map_err(|e| ProduceError::Producer(format!("create topic {topic}: {e}")))?;
    for r in res {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(ProduceError::Producer(format!("create topic {t}: {e}"))),
        }
    }
    Ok(())
}

/// Messages handed to the producer between waits for acknowledgement.
const CHUNK: usize = 20_000;

/// Sends every record of `inputs` to `topic`.
pub fn produce(
    brokers: &str,
    topic: &str,
    inputs: &[String],
    format: Format,
    properties: &BTreeMap<String, String>,
) -> Result<ProduceReport, ProduceError> {
    let producer =
        BatchProducer::new(brokers, topic, true, properties).map_err(ProduceError::Producer)?;
    let parsers = Parsers::default();
    let mut report = ProduceReport::default();
    let started = Instant::now();
    // (key, payload) of the open chunk; the payloads are copied because the reader's buffer
    // is reused between records.
    let mut chunk: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<(Vec<u8>, Vec<u8>)>| -> Result<(), ProduceError> {
        producer
            .send_all(chunk.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
            .map_err(|e| ProduceError::Delivery(e.to_string()))?;
        chunk.clear();
        Ok(())
    };
    let mut failed: Option<ProduceError> = None;
    for input in inputs {
        read_input(input, ReadLimits::default(), |item| {
            if failed.is_some() {
                return;
            }
            let raw = match item {
                Item::Record(raw, _) => raw,
                Item::Unframed { bytes, .. } => bytes,
            };
            let key = match parsers.parse(raw, format) {
                Ok(ev) => ev.identity.key.as_bytes().to_vec(),
                Err(_) => {
                    report.unkeyed += 1;
                    Vec::new()
                }
            };
            report.messages += 1;
            report.bytes += raw.len() as u64;
            chunk.push((key, raw.to_vec()));
            if chunk.len() >= CHUNK {
                if let Err(e) = flush(&mut chunk) {
                    failed = Some(e);
                }
            }
        })?;
        if let Some(e) = failed.take() {
            return Err(e);
        }
    }
    flush(&mut chunk)?;
    report.elapsed = started.elapsed();
    Ok(report)
}
