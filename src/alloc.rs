//! The process's allocator (used by the binary, the benches and
//! `examples/querybench`; not a pipeline stage): glibc's malloc until a
//! command that builds an index switches it to mimalloc.
//!
//! Why two: a build allocates and frees small strings by the million on
//! every thread at once (parsed records, their JSON, documents handed from
//! the readers to the writer's threads, tokens). glibc's arenas made that
//! ~7% of its CPU and kept freed memory scattered; with mimalloc a build's
//! user CPU fell by 7–15% (100,000 and 500,000 studies) and building the
//! full L (500,000 studies) peaked at 796–841 MB instead of 962–1,020 MB
//! (BENCHMARKS.md). A one-shot query is the other way round: it lives a few
//! milliseconds and allocates little, and mimalloc's first blocks (its
//! arenas and their first touches) cost it ~160 more page faults than
//! glibc's heap. Dispatching by command, a one-shot query took 311 page
//! faults instead of 478 and ran ~3% faster (BENCHMARKS.md).
//!
//! The switch is one way and may come at any time: memory allocated before
//! it stays glibc's. After it, each free and realloc asks mimalloc whether
//! the block is its own (`mi_is_in_heap_region`, a lookup in its page map)
//! and hands it back to whichever allocator it came from, so no block is
//! ever given to the wrong one. That lookup is +1.4% of a build's
//! instructions, with no difference in a build's time that could be
//! measured. Before the switch no mimalloc function is called (its
//! constructor still runs when the program loads).
//!
//! mimalloc runs without transparent huge pages (the `no_thp` feature):
//! with them, zeroing 2 MiB pages cost a short query ~1 ms at start, for no
//! gain in a build.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use mimalloc::MiMalloc;

/// A [`GlobalAlloc`]: glibc's malloc (Rust's [`System`]) until
/// [`Allocator::use_mimalloc`], then mimalloc for new blocks.
pub struct Allocator {
    mimalloc: AtomicBool,
}

impl Allocator {
    /// Allocates with [`System`] until switched.
    pub const fn new() -> Self {
        Allocator {
            mimalloc: AtomicBool::new(false),
        }
    }

    /// From now on new blocks come from mimalloc. Blocks already allocated
    /// are freed by the allocator they came from.
    pub fn use_mimalloc(&self) {
        self.mimalloc.store(true, Ordering::Relaxed);
    }

    /// Whether new blocks come from mimalloc.
    pub fn uses_mimalloc(&self) -> bool {
        self.mimalloc.load(Ordering::Relaxed)
    }

    /// Whether `ptr` is a block of mimalloc's. Before the switch mimalloc
    /// has allocated nothing (a relaxed load suffices: the flag only ever
    /// goes from false to true, and a thread that sees false has no
    /// mimalloc block to free, since blocks reach it only through a
    /// synchronizing hand-over from the thread that allocated them).
    #[inline]
    fn owns(&self, ptr: *mut u8) -> bool {
        self.uses_mimalloc()
            // SAFETY: a read-only lookup of an address in mimalloc's page
            // map; any pointer value is allowed.
            && unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr.cast()) }
    }
}

impl Default for Allocator {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every block is allocated by exactly one of System and MiMalloc,
// each a correct GlobalAlloc, and every dealloc and realloc goes to the one
// that allocated it (`owns`), with the caller's layout unchanged.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.uses_mimalloc() {
            unsafe { MiMalloc.alloc(layout) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if self.uses_mimalloc() {
            unsafe { MiMalloc.alloc_zeroed(layout) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.owns(ptr) {
            unsafe { MiMalloc.dealloc(ptr, layout) }
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// A block grows or shrinks in the allocator it came from: moving a
    /// glibc block to mimalloc would gain nothing and copy it.
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.owns(ptr) {
            unsafe { MiMalloc.realloc(ptr, layout, new_size) }
        } else {
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(a: &Allocator, size: usize, align: usize, byte: u8) -> (*mut u8, Layout) {
        let layout = Layout::from_size_align(size, align).expect("layout");
        let p = unsafe { a.alloc(layout) };
        assert!(!p.is_null());
        assert_eq!(p as usize % align, 0);
        unsafe { std::ptr::write_bytes(p, byte, size) };
        (p, layout)
    }

    #[test]
    fn blocks_from_before_the_switch_go_back_to_glibc() {
        let a = Allocator::new();
        assert!(!a.uses_mimalloc());
        // Small, large (glibc mmaps these) and over-aligned blocks.
        let before: Vec<_> = [(24, 8), (3 << 20, 8), (100, 4096)]
            .into_iter()
            .map(|(size, align)| filled(&a, size, align, 0xAB))
            .collect();
        for &(p, _) in &before {
            assert!(!unsafe { libmimalloc_sys::mi_is_in_heap_region(p.cast()) });
        }
        a.use_mimalloc();
        let after: Vec<_> = [(24, 8), (3 << 20, 8), (100, 4096)]
            .into_iter()
            .map(|(size, align)| filled(&a, size, align, 0xCD))
            .collect();
        for &(p, _) in &after {
            assert!(unsafe { libmimalloc_sys::mi_is_in_heap_region(p.cast()) });
            assert!(a.owns(p));
        }
        for &(p, _) in &before {
            assert!(!a.owns(p));
        }
        // A glibc block grows in glibc, keeping its bytes; a mimalloc one
        // in mimalloc.
        let (p, layout) = before[0];
        let q = unsafe { a.realloc(p, layout, 10_000) };
        assert!(!a.owns(q));
        assert!((0..24).all(|i| unsafe { *q.add(i) } == 0xAB));
        let grown = Layout::from_size_align(10_000, 8).expect("layout");
        let (p2, layout2) = after[0];
        let q2 = unsafe { a.realloc(p2, layout2, 10_000) };
        assert!(a.owns(q2));
        assert!((0..24).all(|i| unsafe { *q2.add(i) } == 0xCD));
        unsafe {
            a.dealloc(q, grown);
            a.dealloc(q2, grown);
            for &(p, layout) in before[1..].iter().chain(&after[1..]) {
                a.dealloc(p, layout);
            }
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_from_either_allocator() {
        let a = Allocator::new();
        for switch in [false, true] {
            if switch {
                a.use_mimalloc();
            }
            let layout = Layout::from_size_align(1 << 16, 64).expect("layout");
            let p = unsafe { a.alloc_zeroed(layout) };
            assert!(!p.is_null());
            assert!((0..layout.size()).all(|i| unsafe { *p.add(i) } == 0));
            assert_eq!(a.owns(p), switch);
            unsafe { a.dealloc(p, layout) };
        }
    }
}
