//! The process's allocator: mimalloc, tuned to give memory back; glibc's malloc when
//! `LASTHOP_SYSTEM_ALLOCATOR` is set, so that heap profilers which hook `malloc` (heaptrack)
//! see every allocation.
//!
//! mimalloc because glibc's per-thread arenas kept a hunt's freed Arrow buffers, doubling its
//! resident memory over its heap (measured: 1.24 GB RSS for a 588 MB heap peak).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

/// mimalloc's options by their place in `mi_option_t` (mimalloc v3's `mimalloc.h`, as
/// libmimalloc-sys 0.1.49 builds it); a test checks they still name what they did.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const PAGE_RECLAIM_ON_FREE: libmimalloc_sys::mi_option_t = 35;

/// Freed memory goes back to the system at once rather than after a second, and a page that a
/// finished thread left behind is taken over by the thread freeing into it. DataFusion reads
/// spill files on short-lived blocking threads, whose pages otherwise stay resident: measured
/// on a 63 M-connection beacon analysis under `--memory-limit 1G`, peak RSS 1,160 MiB with
/// these options against 1,698 MiB without.
pub fn return_memory_promptly() {
    // SAFETY: setting an option is thread-safe and takes plain integers.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(PAGE_RECLAIM_ON_FREE, 1);
    }
}

/// Keeps the process off transparent huge pages. mimalloc asks for them on its memory, and then
/// every fault on memory it has just handed back zeroes a whole 2 MiB page: with memory handed
/// back promptly (above), that churn was a quarter of a beacon analysis's samples (`perf`:
/// `clear_page_erms` under `do_huge_pmd_anonymous_page`). Measured on the per-pair gap
/// statistics of 10 M connections, three runs each, taking turns: system time 5.3 s → 1.6–2.1 s,
/// wall 7.1–7.8 s → 5.4–6.3 s, peak RSS 1,553–1,591 → 1,351–1,366 MiB; a 5 M-record import
/// kept its speed and peaked 65 MiB lower.
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag on the process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// mimalloc's own purge delay, in milliseconds (`options.c`).
const DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 1_000;

/// Runs `work` with freed memory kept for a second before it goes back to the system, as
/// mimalloc does by default. Importing frees and allocates the same few-megabyte chunk and batch
/// buffers over and over at a flat footprint: handing each back at once makes the kernel zero
/// fresh pages for the next (740 k page faults for a 5 M-record import, measured with `perf`).
pub fn recycling_freed_memory<T>(work: impl FnOnce() -> T) -> T {
    // SAFETY: as in `return_memory_promptly`.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, DEFAULT_PURGE_DELAY_MS) };
    let result = work();
    return_memory_promptly();
    result
}

pub struct Allocator;

const UNDECIDED: u8 = 0;
const MIMALLOC: u8 = 1;
const SYSTEM: u8 = 2;
static CHOICE: AtomicU8 = AtomicU8::new(UNDECIDED);

/// Decided once, at the first allocation (made before `main`, on one thread), so every block
/// is freed by the allocator that made it. `getenv` does not allocate.
fn system() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        MIMALLOC => false,
        SYSTEM => true,
        _ => {
            // SAFETY: a NUL-terminated name; the environment is not being modified this early.
            let set = !unsafe { libc::getenv(c"LASTHOP_SYSTEM_ALLOCATOR".as_ptr()) }.is_null();
            CHOICE.store(if set { SYSTEM } else { MIMALLOC }, Ordering::Relaxed);
            set
        }
    }
}

// SAFETY: forwards every call to one of two sound allocators, the same one for a block's whole
// life (see `system`).
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { if system() { System.alloc(layout) } else { MiMalloc.alloc(layout) } }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if system() { System.alloc_zeroed(layout) } else { MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe {
            if system() { System.dealloc(ptr, layout) } else { MiMalloc.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if system() {
                System.realloc(ptr, layout, new_size)
            } else {
                MiMalloc.realloc(ptr, layout, new_size)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options keep their places: each, and a neighbour with a distinctive default, reads
    /// its default in `options.c` (a 1,000 ms purge delay, an OS tag of 100 three places on, no
    /// reclaim on free between a collection every 10,000 generic allocations and 2 full pages
    /// retained). The test process never sets them.
    #[test]
    fn allocator_options_name_what_they_did() {
        // SAFETY: reading an option takes and returns plain integers.
        let get = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        assert_eq!(get(PURGE_DELAY), DEFAULT_PURGE_DELAY_MS);
        assert_eq!(get(PURGE_DELAY + 3), 100);
        assert_eq!(get(PAGE_RECLAIM_ON_FREE - 1), 10_000);
        assert_eq!(get(PAGE_RECLAIM_ON_FREE), 0);
        assert_eq!(get(PAGE_RECLAIM_ON_FREE + 1), 2);
    }
}
