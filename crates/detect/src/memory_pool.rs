//! The memory pool a session runs under when it has a limit.
//!
//! DataFusion's `FairSpillPool` gives every spilling operator an equal share of what the
//! operators that cannot spill leave over. A sort gives back its merge reserve (memory it cannot
//! spill) each time it spills and takes it again afterwards; in between, the shares of the other
//! spillers grow by what it gave back, they fill them, and the sort's reserve no longer fits:
//! "Not enough memory to continue external sort" under a limit the work fits in. How often that
//! happens depends on scheduling, so a run that passes once can fail the next.
//!
//! [`HeadroomPool`] is the fair pool with one change: spillers share what is left after *at
//! least* `headroom` bytes for unspillable use, so reserves given back for a moment do not
//! widen the shares. The headroom is the sorts' merge reserves (see `session.rs`).

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use datafusion::common::human_readable_size;
use datafusion::common::{Result, resources_datafusion_err};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// A fair spill pool that keeps `headroom` bytes out of the spillers' shares.
#[derive(Debug)]
pub struct HeadroomPool {
    size: usize,
    headroom: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    spillers: usize,
    spillable: usize,
    unspillable: usize,
}

impl HeadroomPool {
    /// A pool of `size` bytes keeping `headroom` of them (at most half) for unspillable use.
    pub fn new(size: usize, headroom: usize) -> HeadroomPool {
        HeadroomPool { size, headroom: headroom.min(size / 2), state: Mutex::default() }
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
}

impl MemoryPool for HeadroomPool {
    fn name(&self) -> &str {
        "fair-with-headroom"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            self.state().spillers += 1;
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            let mut state = self.state();
            state.spillers = state.spillers.saturating_sub(1);
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
        } else {
            self.size.saturating_sub(state.unspillable + state.spillable)
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

impl fmt::Display for HeadroomPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fair(pool_size: {}, headroom: {})",
            human_readable_size(self.size),
            human_readable_size(self.headroom)
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn pool(size: usize, headroom: usize) -> Arc<dyn MemoryPool> {
        Arc::new(HeadroomPool::new(size, headroom))
    }

    /// The race `FairSpillPool` loses: a sort gives back its merge reserve, another spiller
    /// grows, and the reserve must still fit when taken again.
    #[test]
    fn a_reserve_given_back_for_a_moment_still_fits_when_taken_again() {
        let pool = pool(100, 20);
        let merge = MemoryConsumer::new("merge").register(&pool);
        let spillers: Vec<_> = (0..2)
            .map(|i| MemoryConsumer::new(format!("sort{i}")).with_can_spill(true).register(&pool))
            .collect();
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
        let pool = pool(100, 20);
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

    #[test]
    fn the_headroom_is_at_most_half_the_pool_and_unregistering_is_counted() {
        let pool = pool(100, 90);
        let a = MemoryConsumer::new("a").with_can_spill(true).register(&pool);
        let b = MemoryConsumer::new("b").with_can_spill(true).register(&pool);
        assert!(a.try_grow(26).is_err(), "(100 - 50) / 2 each");
        a.try_grow(25).unwrap();
        drop(b);
        a.try_grow(25).expect("alone, a spiller has all 50");
    }
}
