//! Kafka source: one consumer-group member over several topics, each with its format.
//!
//! Offsets are never auto-committed: the daemon commits, per partition, the offset after the
//! last record whose alerts every sink accepted — at each snapshot when a state directory is
//! configured (so the committed offsets and the snapshot agree), else after every delivered
//! batch.
//!
//! Rebalances: when partitions are revoked, the offsets of their records whose alerts were
//! already delivered are committed at once (inside the revoke callback, before the partitions
//! move), so the next owner does not repeat them, and the daemon is asked to snapshot right
//! away so its state and the commits agree again. Records of the open batch are still delivered
//! by this member but left uncommitted: the next owner reads them again (at-least-once; the
//! alerts keep their ids).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::config::{KafkaSourceConfig, TopicSpec};
use crate::parsers::Format;

/// Next offset to read per (topic, partition), shared between the daemon and the consumers.
pub type Offsets = Arc<Mutex<BTreeMap<(String, i32), i64>>>;

/// Tracks the partitions currently assigned (rebalance callbacks run inside `poll`).
#[derive(Default, Clone)]
pub struct Assignment {
    /// Assigned (topic, partition) pairs.
    pub current: Arc<Mutex<HashSet<(String, i32)>>>,
    /// Rebalances seen.
    pub rebalances: Arc<AtomicU64>,
    /// Offsets whose alerts every sink accepted (maintained by the daemon).
    pub delivered: Offsets,
    /// Set when partitions were revoked: the daemon should snapshot now.
    pub checkpoint_due: Arc<AtomicBool>,
    /// Consumer lag per assigned partition from librdkafka's statistics (its own thread).
    pub lag: Arc<Mutex<BTreeMap<(String, i32), i64>>>,
}

impl ClientContext for Assignment {
    /// librdkafka's periodic statistics (`statistics.interval.ms`): keeps the consumer lag of
    /// every assigned partition, so /metrics never sends a request from the detection thread.
    fn stats(&self, statistics: rdkafka::Statistics) {
        let assigned = self.current.lock().map(|c| c.clone()).unwrap_or_default();
        let mut lag = BTreeMap::new();
        for (t, topic) in &statistics.topics {
            for (p, part) in &topic.partitions {
                if *p >= 0 && part.consumer_lag >= 0 && assigned.contains(&(t.clone(), *p)) {
                    lag.insert((t.clone(), *p), part.consumer_lag);
                }
            }
        }
        if let Ok(mut l) = self.lag.lock() {
            *l = lag;
        }
    }
}

impl ConsumerContext for Assignment {
    fn pre_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = r {
            if let Ok(mut cur) = self.current.lock() {
                for e in tpl.elements() {
                    cur.remove(&(e.topic().to_string(), e.partition()));
                }
            }
            // Commit what was delivered on the partitions that are leaving, and forget it: a
            // later commit must never rewind a partition another member has advanced.
            let leaving: Vec<(String, i32, i64)> = match self.delivered.lock() {
                Ok(mut d) => tpl
                    .elements()
                    .iter()
                    .filter_map(|e| {
                        let key = (e.topic().to_string(), e.partition());
                        d.remove(&key).map(|o| (key.0, key.1, o))
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            let committed =
                match commit_offsets(c, leaving.iter().map(|(t, p, o)| (t.as_str(), *p, *o))) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "commit of revoked partitions failed");
                        0
                    }
                };
            self.checkpoint_due.store(true, Ordering::SeqCst);
            tracing::info!(partitions = tpl.count(), committed, "partitions revoked");
        }
    }

    fn post_rebalance(&self, _c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        self.rebalances.fetch_add(1, Ordering::Relaxed);
        let kind = match r {
            Rebalance::Assign(_) => "assign",
            Rebalance::Revoke(_) => "revoke",
            Rebalance::Error(_) => "error",
        };
        metrics::counter!("nhid_rebalances_total", "kind" => kind).increment(1);
        if let Rebalance::Assign(tpl) = r {
            if let Ok(mut cur) = self.current.lock() {
                for e in tpl.elements() {
                    cur.insert((e.topic().to_string(), e.partition()));
                }
            }
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
    }
}

/// Commits `(topic, partition, next offset)` synchronously; returns how many. The list is
/// dropped before returning: a TopicPartitionList alive when the consumer is dropped can hang
/// librdkafka's close.
fn commit_offsets<'a, C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    offsets: impl Iterator<Item = (&'a str, i32, i64)>,
) -> Result<usize, String> {
    let mut tpl = TopicPartitionList::new();
    for (t, p, o) in offsets {
        tpl.add_partition_offset(t, p, Offset::Offset(o))
            .map_err(|e| e.to_string())?;
    }
    let n = tpl.count();
    if n > 0 {
        consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| format!("commit: {e}"))?;
    }
    Ok(n)
}

/// One message, copied out of the consumer.
pub struct Msg {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Value (empty for tombstones).
    pub payload: Vec<u8>,
    /// Format of the topic.
    pub format: Format,
}

/// A Kafka consumer-group source.
pub struct KafkaSource {
    /// Label.
    pub name: String,
    consumer: BaseConsumer<Assignment>,
    assignment: Assignment,
    formats: HashMap<String, Format>,
    /// Dead-letter topic, if configured.
    pub dead_letter_topic: Option<String>,
    /// Brokers (for the dead-letter producer).
    pub brokers: String,
    /// Properties (for the dead-letter producer).
    pub properties: BTreeMap<String, String>,
    /// Consumption is paused (a delivery is stuck): polls serve the group, not the pipeline.
    paused: bool,
    /// Messages a poll returned while paused (a partition assigned during the pause, before it
    /// was paused too); handed out first once consumption resumes.
    held: std::collections::VecDeque<Msg>,
}

impl KafkaSource {
    /// Creates the consumer and subscribes. `delivered` holds the offsets whose alerts were
    /// delivered (committed on revocation); `checkpoint_due` is raised when partitions leave.
    pub fn new(
        name: String,
        c: &KafkaSourceConfig,
        delivered: Offsets,
        checkpoint_due: Arc<AtomicBool>,
    ) -> Result<Self, String> {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &c.brokers)
            .set("group.id", &c.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", &c.start_from)
            .set("enable.partition.eof", "false")
            // Consumer lag for /metrics comes from the statistics (overridable).
            .set("statistics.interval.ms", "5000");
        for (k, v) in crate::config::resolve_properties(&c.properties)? {
            cc.set(k, v);
        }
        let assignment = Assignment {
            delivered,
            checkpoint_due,
            ..Assignment::default()
        };
        let consumer: BaseConsumer<Assignment> = cc
            .create_with_context(assignment.clone())
            .map_err(|e| format!("kafka consumer: {e}"))?;
        let default = Format::from_name(&c.format).unwrap_or(Format::Auto);
        let mut formats = HashMap::new();
        for t in &c.topics {
            let f = match t {
                TopicSpec::Name(_) => default,
                TopicSpec::Full { format, .. } => Format::from_name(format).unwrap_or(default),
            };
            formats.insert(t.name().to_string(), f);
        }
        let topics: Vec<&str> = c.topics.iter().map(TopicSpec::name).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| format!("subscribe {topics:?}: {e}"))?;
        Ok(KafkaSource {
            name,
            consumer,
            assignment,
            formats,
            dead_letter_topic: c.dead_letter_topic.clone(),
            brokers: c.brokers.clone(),
            properties: c.properties.clone(),
            paused: false,
            held: std::collections::VecDeque::new(),
        })
    }

    fn to_msg(&self, m: &rdkafka::message::BorrowedMessage<'_>) -> Msg {
        Msg {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            payload: m.payload().unwrap_or_default().to_vec(),
            format: self.formats.get(m.topic()).copied().unwrap_or(Format::Auto),
        }
    }

    /// Pauses every assigned partition (again: the group may have assigned new ones since).
    fn pause_assigned(&self) {
        match self.consumer.assignment() {
            Ok(tpl) if tpl.count() > 0 => {
                if let Err(e) = self.consumer.pause(&tpl) {
                    tracing::warn!(source = %self.name, error = %e, "pausing partitions failed");
                }
            }
            _ => {}
        }
    }

    /// Back-pressure while a delivery is stuck: pauses the assigned partitions and polls the
    /// consumer once, for `wait` at most (the caller repeats this; rebalances, heartbeats and
    /// `max.poll.interval.ms` are served by polls), so the member stays in its group through a
    /// sink outage of any length. Nothing
    /// is lost: a paused partition's prefetched messages are dropped by librdkafka and fetched
    /// again from the application's position on resume; a message a poll still returns is held
    /// for [`KafkaSource::poll`].
    pub fn keep_alive(&mut self, wait: Duration) {
        if !self.paused {
            self.paused = true;
            metrics::counter!("nhid_source_pauses_total", "source" => self.name.clone())
                .increment(1);
            tracing::warn!(source = %self.name, "delivery stuck: partitions paused, the group membership kept");
        }
        self.pause_assigned();
        if let Some(Ok(m)) = self.consumer.poll(wait) {
            let msg = self.to_msg(&m);
            self.held.push_back(msg);
            self.pause_assigned();
        }
    }

    /// Resumes consumption after [`KafkaSource::keep_alive`].
    pub fn resume(&mut self) {
        if !self.paused {
            return;
        }
        self.paused = false;
        if let Ok(tpl) = self.consumer.assignment() {
            if tpl.count() > 0 {
                if let Err(e) = self.consumer.resume(&tpl) {
                    tracing::warn!(source = %self.name, error = %e, "resuming partitions failed");
                }
            }
        }
        tracing::info!(source = %self.name, "delivery recovered: partitions resumed");
    }

    /// Waits up to `timeout` for the next message (messages held during a pause first).
    /// Errors are logged and counted, not fatal.
    pub fn poll(&mut self, timeout: Duration) -> Option<Msg> {
        if let Some(m) = self.held.pop_front() {
            return Some(m);
        }
        match self.consumer.poll(timeout)? {
            Ok(m) => Some(self.to_msg(&m)),
            Err(e) => {
                metrics::counter!("nhid_source_errors_total", "source" => self.name.clone())
                    .increment(1);
                tracing::warn!(source = %self.name, error = %e, "kafka consume error");
                None
            }
        }
    }

    /// True once the group has assigned this member at least one partition.
    pub fn has_assignment(&self) -> bool {
        self.assignment
            .current
            .lock()
            .map(|c| !c.is_empty())
            .unwrap_or(false)
    }

    /// True if (topic, partition) is assigned to this member now.
    pub fn is_assigned(&self, topic: &str, partition: i32) -> bool {
        self.assignment
            .current
            .lock()
            .map(|c| c.contains(&(topic.to_string(), partition)))
            .unwrap_or(false)
    }

    /// Commits `offsets` (next offset to read) for the partitions still assigned to this member.
    pub fn commit(&self, offsets: &BTreeMap<(String, i32), i64>) -> Result<usize, String> {
        let mine: Vec<(&str, i32, i64)> = {
            let assigned = self
                .assignment
                .current
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            offsets
                .iter()
                .filter(|((t, p), _)| {
                    self.formats.contains_key(t) && assigned.contains(&(t.clone(), *p))
                })
                .map(|((t, p), o)| (t.as_str(), *p, *o))
                .collect()
        };
        commit_offsets(&self.consumer, mine.into_iter())
    }

    /// Consumer lag per assigned partition (high watermark minus position), as of librdkafka's
    /// last statistics report.
    pub fn lag(&self) -> Vec<(String, i32, i64)> {
        self.assignment
            .lag
            .lock()
            .map(|l| l.iter().map(|((t, p), v)| (t.clone(), *p, *v)).collect())
            .unwrap_or_default()
    }

    /// Leaves the group cleanly (revokes partitions) before the consumer is dropped.
    pub fn close(self) {
        self.consumer.unsubscribe();
        // Serve the revoke callback so the group rebalances at once, not after session timeout.
        let _ = self.consumer.poll(Duration::from_millis(100));
        drop(self.consumer);
    }
}
