//! Detection: the rule schema and its loader/linter ([`rule`], [`loader`]), conditions over event
//! fields ([`condition`]), detector kinds ([`kinds`]), credential [`lineage`], the per-event
//! [`engine`], and the runner
//! for the tests written inside rule files ([`ruletest`]).
//!
//! Rules are YAML files under `detections/`, one rule a file, id = the file's path with dots
//! (`aws/session_credential_new_network.yml` -> `aws.session_credential_new_network`). The bundled
//! pack is compiled into the binary; `--rules DIR` replaces it.

pub mod action_index;
pub mod allowlist;
pub mod clock;
pub mod condition;
pub mod engine;
pub mod incident;
pub mod kinds;
pub mod lineage;
pub mod loader;
pub mod rule;
pub mod ruletest;

pub use engine::{Engine, Finding};
pub use rule::{Rule, Severity};
