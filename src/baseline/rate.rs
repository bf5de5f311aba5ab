//! Per-identity rate statistics of one action class (secret reads, enumeration, denied calls,
//! ...), measured as events or as distinct actions/resources per window, with exponential decay.
//!
//! The current window is tumbling and starts at the first class event after the previous window
//! ended, so a burst after a quiet spell is counted from its first call. The long-run rate is an
//! exponentially decayed sum of the measure (time constant `tau`) divided by the identity's
//! decayed exposure (how long it has been observed), so an identity that never did the class has
//! a rate near zero and an identity that does it all day has a high one.

use serde::{Deserialize, Serialize};

use crate::event::classify::ActionClass;

/// What a rate counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Distinct {
    /// Every event of the class.
    Events,
    /// Distinct actions (`service:Operation`) per window.
    Actions,
    /// Distinct resources (secrets, repositories, users) per window.
    Resources,
    /// Distinct actions per window that were new to the identity's baseline when called,
    /// counted only once the identity is past its learning period (before that every action
    /// is new): a quiet key suddenly exploring APIs it never used.
    NovelActions,
    /// Distinct resources (secrets, parameters, repositories) per window that were new to the
    /// identity's baseline when named, past its learning period: a service that reads the same
    /// secrets every week is not sweeping, one that reads secrets it never touched is.
    NovelResources,
}

impl Distinct {
    /// The feature whose novelty this measure counts, if it counts only novel values.
    pub fn novel_of(self) -> Option<super::Feature> {
        match self {
            Distinct::NovelActions => Some(super::Feature::Action),
            Distinct::NovelResources => Some(super::Feature::Resource),
            _ => None,
        }
    }

    /// Name used in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Distinct::Events => "events",
            Distinct::Actions => "actions",
            Distinct::Resources => "resources",
            Distinct::NovelActions => "novel_actions",
            Distinct::NovelResources => "novel_resources",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Distinct> {
        [
            Distinct::Events,
            Distinct::Actions,
            Distinct::Resources,
            Distinct::NovelActions,
            Distinct::NovelResources,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A rate the store tracks (derived from the loaded `burst` rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateSpec {
    /// Class counted.
    pub class: ActionClass,
    /// Measure.
    pub distinct: Distinct,
    /// Window length (ms).
    pub window_ms: i64,
}

/// Decay time constant of long-run rates: 14 days.
pub const TAU_MS: f64 = 14.0 * 86_400_000.0;

/// Decay time constant of an identity's peak window: 60 days. Slower than the rate, so a job
/// that runs weekly or monthly still remembers its last run's size: repeating a past peak is a
/// habit, not a burst (with the rate's 14 days a weekly batch's second run looked new).
pub const PEAK_TAU_MS: f64 = 60.0 * 86_400_000.0;

/// Distinct keys remembered per window (beyond it, the distinct count saturates).
const MAX_WINDOW_KEYS: usize = 256;

/// State of one rate for one identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateState {
    /// Index of the spec in the store's list.
    pub spec: u8,
    /// Decayed sum of the measure, as of `decay_t`, excluding the current window.
    pub decayed: f32,
    /// Event time `decayed` refers to.
    pub decay_t: i64,
    /// Largest measure of a closed window (decayed with [`PEAK_TAU_MS`], as of `decay_t`).
    pub peak: f32,
    /// Start of the current window.
    pub win_start: i64,
    /// Measure in the current window.
    pub win_count: u32,
    /// Latest class event before the current window (for "after idle"); `i64::MIN` if none.
    pub prev_last: i64,
    /// Latest class event.
    pub last: i64,
    keys: WindowKeys,
}

/// The distinct keys of the current window: none, one inline (most windows of most identities
/// hold one, and a heap allocation for it would cost more than the key), or a vector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum WindowKeys {
    #[default]
    None,
    One(u64),
    Many(Vec<u64>),
}

impl WindowKeys {
    fn as_slice(&self) -> &[u64] {
        match self {
            WindowKeys::None => &[],
            WindowKeys::One(k) => std::slice::from_ref(k),
            WindowKeys::Many(v) => v,
        }
    }

    fn contains(&self, key: u64) -> bool {
        self.as_slice().contains(&key)
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn push(&mut self, key: u64) {
        *self = match std::mem::take(self) {
            WindowKeys::None => WindowKeys::One(key),
            WindowKeys::One(a) => WindowKeys::Many(vec![a, key]),
            WindowKeys::Many(mut v) => {
                // Grow by half, not by doubling: windows rarely hold many keys.
                if v.len() == v.capacity() {
                    v.reserve_exact((v.len() / 2).max(1));
                }
                v.push(key);
                WindowKeys::Many(v)
            }
        };
    }

    /// Empties the window, keeping a vector's room for the next one.
    fn clear(&mut self) {
        match self {
            WindowKeys::Many(v) => v.clear(),
            other => *other = WindowKeys::None,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            WindowKeys::Many(v) => v.capacity() * 8,
            _ => 0,
        }
    }
}

impl Serialize for WindowKeys {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

impl<'de> Deserialize<'de> for WindowKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<u64>::deserialize(d)?;
        Ok(match v.len() {
            0 => WindowKeys::None,
            1 => WindowKeys::One(v[0]),
            _ => WindowKeys::Many(v),
        })
    }
}

/// The snapshot a detector sees: the window including the event under test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateView {
    /// Measure in the window, the event included.
    pub count: u32,
    /// Start of the window.
    pub win_start: i64,
    /// Expected measure per window from the identity's own history.
    pub expected: f64,
    /// Time since the previous class event before this window (`None`: the identity never did
    /// this class before).
    pub idle_ms: Option<i64>,
    /// True if this event is the one that adds to the measure (a new distinct key, or any event).
    pub adds: bool,
    /// The largest window measure in the identity's history (decayed).
    pub peak: f64,
}

fn decay(v: f32, from: i64, to: i64) -> f32 {
    decay_with(v, from, to, TAU_MS)
}

fn decay_peak(v: f32, from: i64, to: i64) -> f32 {
    decay_with(v, from, to, PEAK_TAU_MS)
}

fn decay_with(v: f32, from: i64, to: i64, tau: f64) -> f32 {
    if to <= from || from == i64::MIN {
        return v;
    }
    (v as f64 * (-(to.saturating_sub(from) as f64) / tau).exp()) as f32
}

/// Decayed exposure (ms) of an identity observed from `first_seen` to `now`.
pub fn exposure_ms(first_seen: i64, now: i64) -> f64 {
    let span = now.saturating_sub(first_seen).max(0) as f64;
    TAU_MS * (1.0 - (-span / TAU_MS).exp())
}

impl RateState {
    /// A fresh state for spec `spec`.
    pub fn new(spec: u8) -> Self {
        RateState {
            spec,
            decayed: 0.0,
            decay_t: i64::MIN,
            peak: 0.0,
            win_start: i64::MIN,
            win_count: 0,
            prev_last: i64::MIN,
            last: i64::MIN,
            keys: WindowKeys::None,
        }
    }

    fn in_window(&self, t: i64, w: i64) -> bool {
        self.win_start != i64::MIN && t >= self.win_start && t < self.win_start.saturating_add(w)
    }

    /// What the window would look like with an event at `t` with distinct key `key`, without
    /// changing anything. `first_seen` is the identity's first event time.
    pub fn view(&self, spec: &RateSpec, t: i64, key: u64, first_seen: i64) -> RateView {
        let same = self.in_window(t, spec.window_ms);
        let adds = !same
            || spec.distinct == Distinct::Events
            || (!self.keys.contains(key) && self.keys.len() < MAX_WINDOW_KEYS);
        let (count, start, prev) = if same {
            (self.win_count + adds as u32, self.win_start, self.prev_last)
        } else {
            (1, t, self.last)
        };
        // Long-run rate from history before this window.
        let mut hist = decay(self.decayed, self.decay_t, start) as f64;
        let mut peak = decay_peak(self.peak, self.decay_t, start) as f64;
        if !same && self.win_start != i64::MIN {
            // The previous window is history now.
            hist += decay(self.win_count as f32, self.win_start, start) as f64;
            peak = peak.max(decay_peak(self.win_count as f32, self.win_start, start) as f64);
        }
        let exp_ms = exposure_ms(first_seen, start);
        let expected = if exp_ms > 0.0 {
            hist * spec.window_ms as f64 / exp_ms
        } else {
            0.0
        };
        RateView {
            count,
            win_start: start,
            expected,
            idle_ms: (prev != i64::MIN).then(|| start.saturating_sub(prev)),
            adds,
            peak,
        }
    }

    /// Folds an event in.
    pub fn observe(&mut self, spec: &RateSpec, t: i64, key: u64) {
        if !self.in_window(t, spec.window_ms) {
            if t < self.win_start {
                // A late record before the current window: history only.
                let w = match spec.distinct {
                    Distinct::Events => 1.0,
                    _ => 0.0,
                };
                self.decayed += decay(w, t, self.decay_t.max(t));
                self.last = self.last.max(t);
                return;
            }
            // Close the window: its measure joins the decayed history.
            if self.win_start != i64::MIN {
                self.decayed =
                    decay(self.decayed, self.decay_t, self.win_start) + self.win_count as f32;
                self.peak =
                    decay_peak(self.peak, self.decay_t, self.win_start).max(self.win_count as f32);
                self.decay_t = self.win_start;
            }
            self.prev_last = self.last;
            self.win_start = t;
            self.win_count = 0;
            self.keys.clear();
        }
        let adds = match spec.distinct {
            Distinct::Events => true,
            _ => {
                if self.keys.contains(key) || self.keys.len() >= MAX_WINDOW_KEYS {
                    false
                } else {
                    self.keys.push(key);
                    true
                }
            }
        };
        self.win_count += adds as u32;
        self.last = self.last.max(t);
    }

    /// Approximate heap bytes.
    pub fn approx_heap_bytes(&self) -> usize {
        self.keys.heap_bytes()
    }

    /// Releases the window's key memory once the window is over (called on idle profiles).
    pub fn shrink(&mut self, now: i64, spec: &RateSpec) {
        if !self.in_window(now, spec.window_ms) {
            self.keys = WindowKeys::None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn expected_rate_and_bursts() {
        let spec = RateSpec {
            class: ActionClass::SecretRead,
            distinct: Distinct::Resources,
            window_ms: H / 6,
        };
        let mut r = RateState::new(0);
        // Two distinct secrets read every hour for 10 days.
        for h in 0..240 {
            r.observe(&spec, h * H, 1);
            r.observe(&spec, h * H + 1000, 2);
        }
        let t = 240 * H + 5 * H;
        let v = r.view(&spec, t, 1, 0);
        // About 2 distinct secrets per hour = 1/3 per 10-minute window.
        assert!((0.2..0.5).contains(&v.expected), "{v:?}");
        assert_eq!(v.count, 1);
        assert_eq!(v.idle_ms, Some(6 * H - 1000));
        // A burst of 30 new secrets in the window.
        r.observe(&spec, t, 1);
        for k in 0..30 {
            r.observe(&spec, t + k * 1000, 100 + k as u64);
        }
        let v = r.view(&spec, t + 40_000, 999, 0);
        assert_eq!(v.count, 32);
        assert!(v.adds);
        // The same secret again does not add.
        let v = r.view(&spec, t + 40_000, 100, 0);
        assert_eq!(v.count, 31);
        assert!(!v.adds);
    }
}
