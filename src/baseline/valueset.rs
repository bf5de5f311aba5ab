//! A bounded set of feature values with counts and first/last-seen event times.
//!
//! Lookups compare 64-bit hashes in a contiguous vector (sets are small; a linear scan over a
//! few dozen `u64`s beats hashing). Labels are stored for explanations only. When full, the
//! least recently seen value is evicted, forgotten values first.

use serde::Serialize;

/// One remembered value.
#[derive(Debug, Clone, Serialize)]
pub struct ValueEntry {
    /// Human-readable value.
    pub value: Box<str>,
    /// Times seen.
    pub count: u64,
    /// First event time seen (ms).
    pub first_seen: i64,
    /// Latest event time seen (ms).
    pub last_seen: i64,
}

/// Bounded value set.
#[derive(Debug, Clone)]
pub struct ValueSet {
    keys: Vec<u64>,
    entries: Vec<ValueEntry>,
    cap: usize,
    evictions: u64,
}

impl ValueSet {
    /// An empty set holding at most `cap` values.
    pub fn new(cap: usize) -> Self {
        ValueSet {
            keys: Vec::new(),
            entries: Vec::new(),
            cap: cap.max(1),
            evictions: 0,
        }
    }

    /// The entry for `key` if it was seen within `forget_after_ms` of `now`.
    pub fn get_live(&self, key: u64, now: i64, forget_after_ms: i64) -> Option<&ValueEntry> {
        let i = self.keys.iter().position(|&k| k == key)?;
        let e = &self.entries[i];
        (now.saturating_sub(e.last_seen) <= forget_after_ms).then_some(e)
    }

    /// Number of values held (live or not).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Values evicted for lack of room so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Number of entries seen within `forget_after_ms` of `now` (no allocation).
    pub fn live_count(&self, now: i64, forget_after_ms: i64) -> usize {
        self.entries
            .iter()
            .filter(|e| now.saturating_sub(e.last_seen) <= forget_after_ms)
            .count()
    }

    /// Live entries at `now`, most seen first (for explanations).
    pub fn live_entries(&self, now: i64, forget_after_ms: i64) -> Vec<&ValueEntry> {
        let mut v: Vec<&ValueEntry> = self
            .entries
            .iter()
            .filter(|e| now.saturating_sub(e.last_seen) <= forget_after_ms)
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        v
    }

    /// Records a sighting of `key` at event time `t` (`now` is the identity's clock).
    pub fn observe(
        &mut self,
        key: u64,
        t: i64,
        now: i64,
        forget_after_ms: i64,
        label: impl FnOnce() -> String,
    ) {
        if let Some(i) = self.keys.iter().position(|&k| k == key) {
            let e = &mut self.entries[i];
            if now.saturating_sub(e.last_seen) > forget_after_ms {
                // Forgotten: this sighting starts it afresh.
                e.count = 0;
                e.first_seen = t;
            }
            e.count += 1;
            e.first_seen = e.first_seen.min(t);
            e.last_seen = e.last_seen.max(t);
            return;
        }
        let entry = ValueEntry {
            value: label().into_boxed_str(),
            count: 1,
            first_seen: t,
            last_seen: t,
        };
        if self.keys.len() < self.cap {
            self.keys.push(key);
            self.entries.push(entry);
            return;
        }
        // Full: evict the least recently seen value.
        let (i, _) = self
            .entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.last_seen)
            .expect("cap >= 1");
        self.keys[i] = key;
        self.entries[i] = entry;
        self.evictions += 1;
    }

    /// Approximate heap bytes.
    pub fn approx_heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
            + self.entries.capacity() * std::mem::size_of::<ValueEntry>()
            + self.entries.iter().map(|e| e.value.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_forgets_and_evicts() {
        let mut s = ValueSet::new(2);
        s.observe(1, 100, 100, 1000, || "a".into());
        s.observe(1, 50, 100, 1000, || unreachable!());
        let e = s.get_live(1, 100, 1000).unwrap();
        assert_eq!((e.count, e.first_seen, e.last_seen), (2, 50, 100));
        // Forgotten after 1000 ms of silence.
        assert!(s.get_live(1, 1101, 1000).is_none());
        s.observe(2, 200, 200, 1000, || "b".into());
        s.observe(3, 300, 300, 1000, || "c".into());
        assert_eq!(s.len(), 2);
        assert_eq!(s.evictions(), 1);
        assert!(s.get_live(1, 300, 1000).is_none(), "least recent evicted");
        assert_eq!(&*s.live_entries(300, 1000)[0].value, "b");
    }
}
