//! An identity's hour-of-week histogram (168 one-byte counts), stored sparsely while it is sparse.
//!
//! Most non-human identities work in a handful of hours of the week (a nightly job: seven), and
//! a million of them paying 168 bytes each is 168 MB of zeros. Up to [`SPARSE`] active hours
//! are kept inline as (hour, count) pairs in the 24 bytes the dense form's pointer needs anyway;
//! the first hour beyond moves the histogram to a heap array. Both forms count exactly alike
//! (a count that would pass 255 halves every count first), so behaviour does not depend on the
//! form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Hours of the week.
pub const HOURS: usize = 168;

/// Active hours kept inline before the histogram moves to the heap.
pub const SPARSE: usize = 11;

/// The histogram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hours(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    /// `hours[..len]` with their non-zero `counts`, in no particular order.
    Sparse {
        len: u8,
        hours: [u8; SPARSE],
        counts: [u8; SPARSE],
    },
    Dense(Box<[u8; HOURS]>),
}

impl Default for Hours {
    fn default() -> Self {
        Hours::EMPTY
    }
}

impl Hours {
    /// No activity.
    pub const EMPTY: Hours = Hours(Repr::Sparse {
        len: 0,
        hours: [0; SPARSE],
        counts: [0; SPARSE],
    });

    /// The count of hour-of-week `h` (0 = Monday 00:00 UTC); 0 for `h` ≥ 168.
    pub fn get(&self, h: usize) -> u8 {
        match &self.0 {
            Repr::Sparse { len, hours, counts } => (0..*len as usize)
                .find(|&i| hours[i] as usize == h)
                .map_or(0, |i| counts[i]),
            Repr::Dense(d) => d.get(h).copied().unwrap_or(0),
        }
    }

    /// Hours of the week with a non-zero count.
    pub fn active(&self) -> usize {
        match &self.0 {
            Repr::Sparse { len, .. } => *len as usize,
            Repr::Dense(d) => d.iter().filter(|&&c| c > 0).count(),
        }
    }

    /// The 168 counts (explanations, snapshots, inspection).
    pub fn to_array(&self) -> [u8; HOURS] {
        match &self.0 {
            Repr::Sparse { len, hours, counts } => {
                let mut a = [0; HOURS];
                for i in 0..*len as usize {
                    a[hours[i] as usize] = counts[i];
                }
                a
            }
            Repr::Dense(d) => **d,
        }
    }

    /// The histogram of these counts, sparse when it can be.
    pub fn from_array(a: &[u8; HOURS]) -> Hours {
        if a.iter().filter(|&&c| c > 0).count() > SPARSE {
            return Hours(Repr::Dense(Box::new(*a)));
        }
        let mut h = Hours::EMPTY;
        if let Repr::Sparse { len, hours, counts } = &mut h.0 {
            for (i, &c) in a.iter().enumerate().filter(|(_, &c)| c > 0) {
                hours[*len as usize] = i as u8;
                counts[*len as usize] = c;
                *len += 1;
            }
        }
        h
    }

    /// Counts one event in hour-of-week `h` (< 168).
    pub fn add(&mut self, h: usize) {
        if h >= HOURS {
            return;
        }
        if self.get(h) == u8::MAX {
            self.halve();
        }
        match &mut self.0 {
            Repr::Dense(d) => d[h] += 1,
            Repr::Sparse { len, hours, counts } => {
                let n = *len as usize;
                if let Some(i) = (0..n).find(|&i| hours[i] as usize == h) {
                    counts[i] += 1;
                } else if n < SPARSE {
                    hours[n] = h as u8;
                    counts[n] = 1;
                    *len += 1;
                } else {
                    let mut a = self.to_array();
                    a[h] = 1;
                    self.0 = Repr::Dense(Box::new(a));
                }
            }
        }
    }

    /// Halves every count (keeps the shape of a busy histogram within a byte per hour).
    fn halve(&mut self) {
        match &mut self.0 {
            Repr::Dense(d) => d.iter_mut().for_each(|c| *c /= 2),
            Repr::Sparse { .. } => {
                let mut a = self.to_array();
                a.iter_mut().for_each(|c| *c /= 2);
                *self = Hours::from_array(&a);
            }
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self.0 {
            Repr::Sparse { .. } => 0,
            Repr::Dense(_) => HOURS,
        }
    }
}

/// As 168 bytes, whatever the form: snapshots do not depend on it.
impl Serialize for Hours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.to_array())
    }
}

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hours, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Hours;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("168 hour buckets")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Hours, E> {
                let a: &[u8; HOURS] = v
                    .try_into()
                    .map_err(|_| E::invalid_length(v.len(), &self))?;
                Ok(Hours::from_array(a))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Hours, A::Error> {
                let mut a = [0u8; HOURS];
                let mut n = 0;
                while let Some(b) = s.next_element::<u8>()? {
                    if n == HOURS {
                        return Err(serde::de::Error::invalid_length(n + 1, &self));
                    }
                    a[n] = b;
                    n += 1;
                }
                if n != HOURS {
                    return Err(serde::de::Error::invalid_length(n, &self));
                }
                Ok(Hours::from_array(&a))
            }
        }
        // `byte_buf`, not `bytes`: a streaming decoder may then reuse its scratch buffer for
        // every profile's histogram (see `state::read`).
        d.deserialize_byte_buf(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old form: a plain array with the same halving rule.
    fn reference(events: &[usize]) -> [u8; HOURS] {
        let mut a = [0u8; HOURS];
        for &h in events {
            if a[h] == u8::MAX {
                a.iter_mut().for_each(|x| *x /= 2);
            }
            a[h] += 1;
        }
        a
    }

    #[test]
    fn sparse_and_dense_count_exactly_like_an_array() {
        assert_eq!(std::mem::size_of::<Hours>(), 24);
        // A nightly job: seven hours, saturating and halving, stays inline.
        let nightly: Vec<usize> = (0..2000).map(|i| (i % 7) * 24 + 2).collect();
        // A busy pattern that goes dense, then halves.
        let busy: Vec<usize> = (0..5000)
            .map(|i| (i * i + 3 * i) % 40 + (i % 3) * 50)
            .collect();
        for events in [&nightly, &busy] {
            let mut h = Hours::default();
            events.iter().for_each(|&e| h.add(e));
            let want = reference(events);
            assert_eq!(h.to_array(), want);
            assert_eq!(h.active(), want.iter().filter(|&&c| c > 0).count());
            assert!((0..HOURS).all(|i| h.get(i) == want[i]));
            let bytes = postcard::to_allocvec(&h).unwrap();
            let back: Hours = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(back.to_array(), want);
        }
        let mut h = Hours::default();
        nightly.iter().for_each(|&e| h.add(e));
        assert_eq!(h.heap_bytes(), 0, "seven active hours stay inline");
        busy.iter().for_each(|&e| h.add(e));
        assert_eq!(h.heap_bytes(), HOURS);
        assert_eq!(h.get(999), 0);
    }

    #[test]
    fn halving_frees_inline_room() {
        let mut events: Vec<usize> = vec![0; 255];
        events.extend(1..=SPARSE - 1); // eleven hours in all, ten of them once
        events.push(0); // 0 passes 255: every count halves, the ten once-hours drop to zero
        events.push(100);
        let mut h = Hours::default();
        events.iter().for_each(|&e| h.add(e));
        assert_eq!(h.to_array(), reference(&events));
        assert_eq!((h.active(), h.heap_bytes()), (2, 0));
    }
}
