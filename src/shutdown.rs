//! The graceful-shutdown request, as a handle passed to whatever must react to it (the
//! detection loop, HTTP sinks that stop retrying and dead-letter instead), so no module
//! reaches into another's global to learn of it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A shared flag: once requested, stays requested. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// A handle nobody has requested yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests shutdown (signal handlers).
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once shutdown was requested.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_request() {
        let a = Shutdown::new();
        let b = a.clone();
        assert!(!b.is_requested());
        a.request();
        assert!(b.is_requested() && !Shutdown::new().is_requested());
    }
}
