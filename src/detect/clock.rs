//! Event-time sanity (../shared/CONTRACTS.md "Wave 2 decisions"): one record must not move
//! state far into the future. Baselines run on event time, so a single forged record dated 2099
//! would move its identity's clock: a real 60-day reactivation afterwards looks like going back
//! in time (no dormant alert), impossible travel compares against the forged record.
//!
//! The stream's *confirmed watermark* is the time several identities reached: the
//! [`CONFIRMING`]-th highest of the latest times claimed by distinct identities, never one
//! identity's. A record more than `future_tolerance` past it makes its identity a *suspect*: the
//! record is processed (evaluated and learned: a genuine jump must not lose its first records),
//! and the identity's profile as it was before is kept. What follows decides:
//! - **confirmed** when [`CONFIRMING`]` - 1` *other* identities send records at or after the
//!   suspect's time (less the tolerance): the stream jumped (a replay of files from different
//!   years, a quiet night); nothing more happens.
//! - **refuted** when [`REFUTING`] other identities send records still *behind* it: the stream
//!   did not follow, the record was a lone future date. The identity's profile is put back as it
//!   was before it (whatever it learned since is dropped with it), and the record is
//!   dead-lettered as `future_time`.
//!
//! A suspect's later records do not vote (an attacker controls them). At most [`MAX_SUSPECTS`]
//! identities are suspects at once; past that the oldest is refuted (a flood of future-dated
//! records from many identities is itself a sign of forgery). Suspects are not snapshotted:
//! after a restart, pending ones stand as learned.
//!
//! Judged per lane ([`Clocks`]: a Kafka partition, a file), so consumer interleaving does
//! not matter. Cost: a comparison per record, a [`CONFIRMING`]-slot table update when a claimed time rises,
//! and a vote per pending suspect. Deterministic: depends only on the records in order.

use std::collections::VecDeque;

use crate::baseline::Profile;

/// Lanes with a clock of their own at most (beyond, records share lane 0).
pub const MAX_LANES: usize = 4096;

/// One clock per *lane*: an input whose records keep their order whatever the consumer does (a
/// Kafka partition, a file). Partitions are consumed at uneven rates, so their event times
/// drift apart by the consumer's lag: judged against each other, a partition running ahead
/// would look future-dated and a lagging one would refute it. Within a lane the order is the
/// producer's, so the judgement does not depend on how the consumer interleaves partitions.
#[derive(Debug)]
pub struct Clocks {
    tolerance_ms: Option<i64>,
    lanes: rustc_hash::FxHashMap<u64, EventClock>,
    lane: u64,
}

impl Clocks {
    /// Clocks with `future_tolerance` (ms; `None`: no check).
    pub fn new(tolerance_ms: Option<i64>) -> Self {
        Clocks {
            tolerance_ms,
            lanes: Default::default(),
            lane: 0,
        }
    }

    /// The lane of the next records.
    pub fn set_lane(&mut self, lane: u64) {
        self.lane = if self.lanes.len() >= MAX_LANES && !self.lanes.contains_key(&lane) {
            0
        } else {
            lane
        };
    }

    fn current(&mut self) -> &mut EventClock {
        let tol = self.tolerance_ms;
        self.lanes
            .entry(self.lane)
            .or_insert_with(|| EventClock::new(tol))
    }

    /// [`EventClock::judge`] in the current lane.
    pub fn judge(&mut self, id: u64, t: i64) -> Option<i64> {
        self.tolerance_ms?;
        self.current().judge(id, t)
    }

    /// [`EventClock::keep_before`] in the current lane.
    pub fn keep_before(&mut self, id: u64, key: &str, before: Option<Box<Profile>>) {
        self.current().keep_before(id, key, before);
    }

    /// Refuted suspects of every lane.
    pub fn take_refuted(&mut self) -> Vec<Refuted> {
        let mut out = Vec::new();
        for c in self.lanes.values_mut() {
            out.append(&mut c.refuted);
        }
        out
    }
}

/// Distinct identities whose times make the watermark (a suspect is confirmed by this many
/// less one other identities).
pub const CONFIRMING: usize = 3;
/// Other identities still behind a suspect that refute it.
pub const REFUTING: usize = 3;
/// Suspect identities at most at once.
pub const MAX_SUSPECTS: usize = 64;

/// An identity whose record was dated past the confirmed watermark, awaiting the stream.
#[derive(Debug)]
struct Suspect {
    id: u64,
    key: Box<str>,
    time: i64,
    watermark: i64,
    /// The identity's profile before the record (`None`: it was new).
    before: Option<Box<Profile>>,
    confirm: Vec<u64>,
    behind: Vec<u64>,
}

/// How a suspect ended.
#[derive(Debug)]
pub struct Refuted {
    /// Identity hash.
    pub id: u64,
    /// Identity key.
    pub key: Box<str>,
    /// The watermark when its record came.
    pub watermark: i64,
    /// The profile to put back (`None`: remove the identity).
    pub before: Option<Box<Profile>>,
}

/// The stream's confirmed watermark and its suspects.
#[derive(Debug)]
pub struct EventClock {
    /// How far past the watermark a record may be (ms); `None`: no check.
    tolerance_ms: Option<i64>,
    /// The highest times claimed by distinct identities (identity hash, time), highest first.
    top: Vec<(u64, i64)>,
    suspects: VecDeque<Suspect>,
    refuted: Vec<Refuted>,
    /// Suspects confirmed so far.
    pub confirmed: u64,
}

impl EventClock {
    /// A clock with `future_tolerance` (ms; `None` turns the check off).
    pub fn new(tolerance_ms: Option<i64>) -> Self {
        EventClock {
            tolerance_ms,
            top: Vec::with_capacity(CONFIRMING + 1),
            suspects: VecDeque::new(),
            refuted: Vec::new(),
            confirmed: 0,
        }
    }

    /// Judges a record of identity `id` at `t`: first its vote on pending suspects, then
    /// whether it makes its identity a suspect (`Some(watermark)`: the caller keeps the
    /// profile with [`EventClock::keep_before`]).
    pub fn judge(&mut self, id: u64, t: i64) -> Option<i64> {
        let tol = self.tolerance_ms?;
        if !self.suspects.is_empty() {
            self.vote(id, t, tol);
        }
        if self.suspects.iter().any(|s| s.id == id) {
            self.claim(id, t);
            return None;
        }
        let verdict = self.check(id, t);
        if verdict.is_some() {
            if self.suspects.len() >= MAX_SUSPECTS {
                if let Some(s) = self.suspects.pop_front() {
                    self.refute(s);
                }
            }
            self.suspects.push_back(Suspect {
                id,
                key: Box::from(""),
                time: t,
                watermark: verdict.unwrap_or_default(),
                before: None,
                confirm: Vec::new(),
                behind: Vec::new(),
            });
        }
        verdict
    }

    /// Keeps the suspect's profile from before its record.
    pub fn keep_before(&mut self, id: u64, key: &str, before: Option<Box<Profile>>) {
        if let Some(s) = self.suspects.iter_mut().find(|s| s.id == id) {
            s.key = key.into();
            s.before = before;
        }
    }

    /// Suspects refuted since the last call (the caller puts their profiles back).
    pub fn take_refuted(&mut self) -> Vec<Refuted> {
        std::mem::take(&mut self.refuted)
    }

    fn vote(&mut self, id: u64, t: i64, tol: i64) {
        let mut i = 0;
        while i < self.suspects.len() {
            let s = &mut self.suspects[i];
            if s.id != id {
                let list = if t >= s.time.saturating_sub(tol) {
                    &mut s.confirm
                } else {
                    &mut s.behind
                };
                if !list.contains(&id) {
                    list.push(id);
                }
            }
            if s.confirm.len() + 1 >= CONFIRMING {
                self.suspects.remove(i);
                self.confirmed += 1;
            } else if s.behind.len() >= REFUTING {
                if let Some(s) = self.suspects.remove(i) {
                    self.refute(s);
                }
            } else {
                i += 1;
            }
        }
    }

    fn refute(&mut self, s: Suspect) {
        self.refuted.push(Refuted {
            id: s.id,
            key: s.key,
            watermark: s.watermark,
            before: s.before,
        });
    }

    /// The confirmed watermark (ms), once [`CONFIRMING`] identities were seen.
    pub fn watermark(&self) -> Option<i64> {
        (self.top.len() >= CONFIRMING).then(|| self.top[CONFIRMING - 1].1)
    }

    /// `Some(watermark)` if `t` is beyond the tolerance; the time counts toward confirming a
    /// jump either way.
    fn check(&mut self, id: u64, t: i64) -> Option<i64> {
        let future = match (self.tolerance_ms, self.watermark()) {
            (Some(tol), Some(w)) if t > w.saturating_add(tol) => Some(w),
            _ => None,
        };
        self.claim(id, t);
        future
    }

    /// Keeps `top` the highest times of distinct identities. Claimed times only rise, so an
    /// identity that falls out of the table never needs to come back with an older time.
    fn claim(&mut self, id: u64, t: i64) {
        if let Some(i) = self.top.iter().position(|e| e.0 == id) {
            if t <= self.top[i].1 {
                return;
            }
            self.top.remove(i);
        } else if self.top.len() >= CONFIRMING && t <= self.top[CONFIRMING - 1].1 {
            return;
        }
        let at = self
            .top
            .iter()
            .position(|e| e.1 < t)
            .unwrap_or(self.top.len());
        self.top.insert(at, (id, t));
        self.top.truncate(CONFIRMING);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const Y2099: i64 = 4_070_908_800_000;

    fn clock() -> EventClock {
        let mut c = EventClock::new(Some(H));
        for i in 0..5 {
            assert_eq!(c.judge(i, 1000 + i as i64), None);
        }
        c
    }

    #[test]
    fn a_lone_future_record_is_refuted_by_the_stream_behind_it() {
        let mut c = clock();
        assert!(c.judge(1, Y2099).is_some());
        c.keep_before(1, "one", None);
        // Its own later records do not vote; three others behind it refute it.
        assert_eq!(c.judge(1, 2000), None);
        assert!(c.take_refuted().is_empty());
        c.judge(2, 2000);
        c.judge(3, 2000);
        assert!(c.take_refuted().is_empty());
        c.judge(4, 2000);
        let r = c.take_refuted();
        assert_eq!(r.len(), 1);
        assert_eq!(&*r[0].key, "one");
        // The watermark did not move with it.
        assert!(c.watermark().unwrap() < 3000);
    }

    #[test]
    fn a_jump_of_the_whole_stream_is_confirmed_by_two_others() {
        let mut c = clock();
        let later = 400 * 24 * H;
        assert!(c.judge(0, later).is_some());
        // The same identity goes on: not a vote, not a new suspect.
        assert_eq!(c.judge(0, later + 1), None);
        // The next two identities are suspects themselves (the watermark has not moved yet)
        // and confirm the first.
        assert!(c.judge(1, later + 2).is_some());
        assert!(c.judge(2, later + 3).is_some());
        assert_eq!(c.confirmed, 1);
        // Now three identities are there: the watermark followed, the rest confirm.
        assert_eq!(c.judge(3, later + 5), None);
        assert_eq!(c.judge(4, later + 6), None);
        assert_eq!(c.confirmed, 3);
        assert!(c.take_refuted().is_empty());
        assert!(c.suspects.is_empty());
    }

    #[test]
    fn suspects_are_bounded() {
        let mut c = clock();
        // A full table of suspects still waiting for votes.
        for i in 0..MAX_SUSPECTS as u64 {
            c.suspects.push_back(Suspect {
                id: 1000 + i,
                key: Box::from("k"),
                time: Y2099,
                watermark: 0,
                before: None,
                confirm: Vec::new(),
                behind: Vec::new(),
            });
        }
        assert!(c.judge(7, Y2099 * 2).is_some());
        assert!(c.suspects.len() <= MAX_SUSPECTS);
        assert!(!c.take_refuted().is_empty(), "the oldest was refuted");
    }

    #[test]
    fn few_identities_or_no_tolerance_never_flag() {
        let mut c = EventClock::new(Some(H));
        assert_eq!(c.judge(1, 0), None);
        assert_eq!(c.judge(2, 1_000 * H), None);
        let mut off = EventClock::new(None);
        for i in 0..5 {
            off.judge(i, 0);
        }
        assert_eq!(off.judge(9, i64::MAX), None);
    }
}
