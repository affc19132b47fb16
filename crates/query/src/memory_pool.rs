//! The memory pool a session runs under when it has a limit.
//!
//! DataFusion's `FairSpillPool` gives every spilling operator an equal share of what the
//! operators that cannot spill leave over. A sort gives back its merge reserve (memory it cannot
//! spill) each time it spills and takes it again afterwards; in between, the shares of the other
//! spillers grow by what it gave back, they fill them, and the sort's reserve no longer fits:
//! "Not enough memory to continue external sort" under a limit the work fits in. How often that
//! happens depends on scheduling, so a run that passes once can fail the next.
//!
//! The other way round, a sort that has finished reading its input merges its spilled runs
//! with memory it cannot spill, and takes as much as the pool has left to merge as many runs at
//! once as it can; a sort of another partition still reading its input is then left less than
//! one batch (seen: one merge holding 41 MB of a 48 MB pool).
//!
//! And when two partitions' sorts both reach their merges, the first takes it all and the
//! second cannot seat even two runs (seen: 38 of 48 MB in one merge, the other failing).
//!
//! [`HeadroomPool`] is the fair pool with three changes: spillers share what is left after *at
//! least* `headroom` bytes for unspillable use, so reserves given back for a moment do not
//! widen the shares; unspillable use stops short of a floor kept for every spiller; and the
//! sorts' merges (DataFusion's `ExternalSorterMerge` consumers, the only unspillable ones that
//! take what they can rather than what they need) share what unspillable use may take, so a
//! merge merges fewer runs at a time instead of starving the others. The headroom is the sorts'
//! merge reserves, the floor a few batches (see `session.rs`).

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use datafusion::common::human_readable_size;
use datafusion::common::{Result, resources_datafusion_err};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// A fair spill pool that keeps `headroom` bytes out of the spillers' shares and `floor` bytes
/// per spiller out of unspillable use.
#[derive(Debug)]
pub struct HeadroomPool {
    size: usize,
    headroom: usize,
    floor: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    spillers: usize,
    merges: usize,
    spillable: usize,
    unspillable: usize,
}

impl HeadroomPool {
    /// A pool of `size` bytes keeping `headroom` of them for unspillable use and `floor` for
    /// each spiller; each of the two reserves is at most half the pool.
    pub fn new(size: usize, headroom: usize, floor: usize) -> HeadroomPool {
        HeadroomPool { size, headroom: headroom.min(size / 2), floor, state: Mutex::default() }
    }

    /// The counters; a panic elsewhere while they were held leaves them consistent (every
    /// update is one statement), so a poisoned lock is taken as it is.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One spiller's share now: an equal part of what unspillable use leaves, counting that
    /// use as at least the headroom.
    fn share(&self, state: &State) -> usize {
        let for_spillers = self.size.saturating_sub(state.unspillable.max(self.headroom));
        for_spillers / state.spillers.max(1)
    }

    /// What unspillable use may still take: what is free, less what the spillers are owed
    /// beyond what they hold.
    fn unspillable_available(&self, state: &State) -> usize {
        self.size.saturating_sub(state.unspillable + state.spillable.max(self.owed(state)))
    }

    /// What the spillers are owed together: their floors, at most half the pool.
    fn owed(&self, state: &State) -> usize {
        (self.floor.saturating_mul(state.spillers)).min(self.size / 2)
    }

    /// What one sort's merge may still take: an equal part, among the merges, of what the
    /// spillers' floors leave.
    fn merge_share(&self, state: &State, merge: &MemoryReservation) -> usize {
        let share = self.size.saturating_sub(self.owed(state)) / state.merges.max(1);
        share.saturating_sub(merge.size())
    }
}

impl MemoryPool for HeadroomPool {
    fn name(&self) -> &str {
        "fair-with-headroom"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        let mut state = self.state();
        if consumer.can_spill() {
            state.spillers += 1;
        } else if is_merge(consumer) {
            state.merges += 1;
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        let mut state = self.state();
        if consumer.can_spill() {
            state.spillers = state.spillers.saturating_sub(1);
        } else if is_merge(consumer) {
            state.merges = state.merges.saturating_sub(1);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        let mut state = self.state();
        match reservation.consumer().can_spill() {
            true => state.spillable += additional,
            false => state.unspillable += additional,
        }
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        let mut state = self.state();
        match reservation.consumer().can_spill() {
            true => state.spillable = state.spillable.saturating_sub(shrink),
            false => state.unspillable = state.unspillable.saturating_sub(shrink),
        }
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let mut state = self.state();
        let spills = reservation.consumer().can_spill();
        let available = if spills {
            self.share(&state).saturating_sub(reservation.size())
        } else if is_merge(reservation.consumer()) {
            self.unspillable_available(&state).min(self.merge_share(&state, reservation))
        } else {
            self.unspillable_available(&state)
        };
        if additional > available {
            return Err(resources_datafusion_err!(
                "Failed to allocate additional {} for {} with {} already allocated for this \
                 reservation - {} remain available for the total memory pool: {}",
                human_readable_size(additional),
                reservation.consumer().name(),
                human_readable_size(reservation.size()),
                human_readable_size(available),
                self
            ));
        }
        match spills {
            true => state.spillable += additional,
            false => state.unspillable += additional,
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        let state = self.state();
        state.spillable + state.unspillable
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.size)
    }
}

/// DataFusion's name for the memory an external sort merges its runs with.
fn is_merge(consumer: &MemoryConsumer) -> bool {
    consumer.name().starts_with("ExternalSorterMerge")
}

impl fmt::Display for HeadroomPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fair(pool_size: {}, headroom: {}, floor per spiller: {})",
            human_readable_size(self.size),
            human_readable_size(self.headroom),
            human_readable_size(self.floor)
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// `count` spilling consumers named `name0`, `name1` …
    fn spillers(pool: &Arc<dyn MemoryPool>, name: &str, count: usize) -> Vec<MemoryReservation> {
        (0..count)
            .map(|i| MemoryConsumer::new(format!("{name}{i}")).with_can_spill(true).register(pool))
            .collect()
    }

    fn new_pool(size: usize, headroom: usize, floor: usize) -> Arc<dyn MemoryPool> {
        Arc::new(HeadroomPool::new(size, headroom, floor))
    }

    /// The race `FairSpillPool` loses: a sort gives back its merge reserve, another spiller
    /// grows, and the reserve must still fit when taken again.
    #[test]
    fn a_reserve_given_back_for_a_moment_still_fits_when_taken_again() {
        let pool = new_pool(100, 20, 0);
        let merge = MemoryConsumer::new("merge").register(&pool);
        let spillers = spillers(&pool, "sort", 2);
        merge.try_grow(20).unwrap();
        merge.free();
        // Each spiller takes all it may while the reserve is out.
        for spiller in &spillers {
            while spiller.try_grow(1).is_ok() {}
            assert_eq!(spiller.size(), 40, "half of what the headroom leaves");
        }
        merge.try_grow(20).expect("the reserve fits again");
    }

    #[test]
    fn unspillable_use_beyond_the_headroom_narrows_the_shares() {
        let pool = new_pool(100, 20, 0);
        let table = MemoryConsumer::new("hash table").register(&pool);
        let spiller = MemoryConsumer::new("sort").with_can_spill(true).register(&pool);
        table.try_grow(60).unwrap();
        assert!(spiller.try_grow(41).is_err());
        spiller.try_grow(40).unwrap();
        let err = table.try_grow(1).unwrap_err().to_string();
        assert!(err.contains("Failed to allocate additional 1.0 B for hash table"), "{err}");
        assert!(err.contains("headroom: 20.0 B"), "{err}");
        drop(spiller);
        table.try_grow(40).expect("a dropped spiller's memory comes back");
        assert_eq!(pool.reserved(), 100);
    }

    /// The other race: one partition's merge takes all it can while another partition's sort
    /// still needs room for its next batch.
    #[test]
    fn unspillable_use_leaves_every_spiller_its_floor() {
        let pool = new_pool(100, 10, 15);
        let merge = MemoryConsumer::new("merge").register(&pool);
        let sorts = spillers(&pool, "sort", 2);
        sorts[0].try_grow(5).unwrap();
        while merge.try_grow(1).is_ok() {}
        assert_eq!(merge.size(), 70, "30 kept for two spillers");
        sorts[1].try_grow(15).expect("the idle spiller gets its floor");
        assert!(sorts[1].try_grow(1).is_err(), "(100 - 70) / 2 each");
        sorts[0].try_grow(10).expect("and so does the busy one");
        drop(sorts);
        merge.try_grow(30).expect("without spillers the merge may take the rest");
        let capped = new_pool(100, 0, 40);
        let spillers = spillers(&capped, "s", 4);
        let table = MemoryConsumer::new("table").register(&capped);
        table.try_grow(50).expect("the spillers' floors together are at most half the pool");
        assert!(table.try_grow(1).is_err());
        drop(spillers);
    }

    #[test]
    fn two_merges_share_what_unspillable_use_may_take() {
        let pool = new_pool(100, 10, 10);
        let spiller = MemoryConsumer::new("sort").with_can_spill(true).register(&pool);
        let merges: Vec<_> = (0..2)
            .map(|i| MemoryConsumer::new(format!("ExternalSorterMerge[{i}]")).register(&pool))
            .collect();
        while merges[1].try_grow(1).is_ok() {}
        assert_eq!(merges[1].size(), 45, "(100 - 10) / 2");
        merges[0].try_grow(45).expect("the other merge seats its runs");
        let table = MemoryConsumer::new("hash table").register(&pool);
        assert!(table.try_grow(1).is_err(), "the spiller's floor is kept");
        drop(spiller);
        table.try_grow(10).expect("other unspillable use is not capped by the merges' share");
    }

    #[test]
    fn the_headroom_is_at_most_half_the_pool_and_unregistering_is_counted() {
        let pool = new_pool(100, 90, 0);
        let a = MemoryConsumer::new("a").with_can_spill(true).register(&pool);
        let b = MemoryConsumer::new("b").with_can_spill(true).register(&pool);
        assert!(a.try_grow(26).is_err(), "(100 - 50) / 2 each");
        a.try_grow(25).unwrap();
        drop(b);
        a.try_grow(25).expect("alone, a spiller has all 50");
    }
}
