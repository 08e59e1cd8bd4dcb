//! WebSocket connections per caller, bounded: a caller is its token's subject, its API key, or,
//! without credentials, its address. A connection holds its place until it closes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

#[derive(Default)]
pub struct Callers {
    open: Mutex<HashMap<String, usize>>,
}

/// One connection's place; given back when dropped.
pub struct Place {
    callers: Arc<Callers>,
    key: String,
}

impl Callers {
    /// Takes a place for `key`, unless it holds `max` already.
    pub fn admit(self: &Arc<Self>, key: String, max: usize) -> Option<Place> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(key.clone()).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Place {
            callers: self.clone(),
            key,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Ok(mut open) = self.callers.open.lock()
            && let Some(count) = open.get_mut(&self.key)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_holds_at_most_its_share_and_gets_places_back() {
        let callers = Arc::new(Callers::default());
        let first = callers.admit("a".into(), 2);
        let second = callers.admit("a".into(), 2);
        assert!(first.is_some() && second.is_some());
        assert!(callers.admit("a".into(), 2).is_none());
        assert!(callers.admit("b".into(), 2).is_some());
        drop(first);
        assert!(callers.admit("a".into(), 2).is_some());
    }
}
