//! nhid: streaming detection of non-human identity (NHI) misuse in cloud and SaaS audit logs.
//!
//! # Layout
//! - [`sources`]: where raw records come from (`file` for replay).
//! - [`parsers`]: raw record bytes to [`event::AuditEvent`], one module per audit source, with
//!   detection of the source by record shape.
//! - [`event`]: the normalised event model, identity classes, user-agent families.
//! - [`geo`], [`enrich`], [`netclass`]: GeoIP, network class and client-family enrichment.
//! - [`baseline`]: per-identity behavioural profiles in event time.
//! - [`detect`]: the rule schema, loader/linter, detector kinds and the engine.
//! - [`alert`]: OCSF Detection Finding rendering and finding ids.
//! - [`pipeline`]: the replay pipeline wiring it all together, with run statistics.
//! - [`config`], [`daemon`], [`server`], [`state`], [`sinks`]: the `nhid run` daemon.
//! - [`produce`]: loading records into a Kafka topic (tests, benchmarks, backfills).
//! - [`time`]: event-time parsing and durations.

pub mod alert;
pub mod baseline;
pub mod config;
pub mod daemon;
pub mod deadletter;
pub mod detect;
pub mod enrich;
pub mod event;
pub mod geo;
pub mod inspect;
pub mod inventory;
pub mod netclass;
pub mod parsers;
pub mod pipeline;
pub mod produce;
pub mod resend;
pub mod server;
pub mod shutdown;
pub mod sinks;
pub mod sources;
pub mod state;
pub mod time;
