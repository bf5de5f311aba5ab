//! Detector kinds. Each is a pure function of the rule, the event and the identity's profile as
//! it was *before* the event, returning what it found (anomalies with observed vs baseline, and
//! score components) or nothing.

pub mod burst;
pub mod cold_start;
pub mod dormant;
pub mod minted;
pub mod new_value;
pub mod off_hours;
pub mod travel;

use super::engine::Anomaly;

/// What a detector found on one event.
#[derive(Debug, Default)]
pub struct Hit {
    /// Observed vs baseline.
    pub anomalies: Vec<Anomaly>,
    /// Score components the detector adds (name, points).
    pub components: Vec<(&'static str, i32)>,
}
