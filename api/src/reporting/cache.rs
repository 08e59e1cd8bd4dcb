//! Protected tables kept between requests. Protecting a busy year costs a noticeable share of a
//! second; counting it costs a few statements. So each answer still counts from the database
//! (it is never stale), and the protection is reused when the counts are exactly those it was
//! computed for: the pattern is a function of the counts and the rules alone, so the answer is
//! the same as if it had been computed again.

use std::sync::{Arc, Mutex, PoisonError};

use super::{
    Measure,
    disclosure::{Rules, Table},
};

/// How many protected tables are kept: each measure for a few years. A busy year's table is
/// about half a megabyte.
const CAPACITY: usize = 48;

struct Entry {
    measure: Measure,
    year: i32,
    table: Arc<Table>,
    rules: Rules,
    suppressed: Arc<Vec<bool>>,
    /// When it was last used, for evicting the least recently used.
    used: u64,
}

#[derive(Default)]
pub struct ProtectionCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    clock: u64,
}

impl ProtectionCache {
    /// The pattern computed for exactly these counts and rules, if it is kept.
    pub fn get(
        &self,
        measure: Measure,
        year: i32,
        table: &Table,
        rules: &Rules,
    ) -> Option<Arc<Vec<bool>>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.iter_mut().find(|e| {
            e.measure == measure && e.year == year && e.rules == *rules && *e.table == *table
        })?;
        entry.used = now;
        Some(entry.suppressed.clone())
    }

    /// Keeps a pattern, in place of the one for older counts of the same measure and year.
    pub fn put(
        &self,
        measure: Measure,
        year: i32,
        table: Arc<Table>,
        rules: Rules,
        suppressed: Arc<Vec<bool>>,
    ) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let used = inner.clock;
        inner
            .entries
            .retain(|e| !(e.measure == measure && e.year == year && e.rules == rules));
        if inner.entries.len() >= CAPACITY
            && let Some(oldest) = (0..inner.entries.len()).min_by_key(|i| inner.entries[*i].used)
        {
            inner.entries.swap_remove(oldest);
        }
        inner.entries.push(Entry {
            measure,
            year,
            table,
            rules,
            suppressed,
            used,
        });
    }
}
