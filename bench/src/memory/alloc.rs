//! The counting allocator of the memory benchmark: [`Counting`] is [`System`] wrapped in
//! counters of live bytes and live allocations, in all and per size class (8-byte classes
//! up to 1 KiB, then powers of two), in relaxed atomics. The bench target installs it as its
//! global allocator (parent and server children alike, since the children are the same
//! binary), and so do this crate's unit tests; [`HeapSnapshot`] reads the counters, and
//! [`Heap`] is a snapshot as data, also the server children's answer to `heap`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::util::fmt_int;

/// Size classes up to 1 KiB are 8 bytes wide: class `i` (1..=128) holds allocations of
/// `8(i-1)+1 ..= 8i` bytes (class 0 would hold zero-sized ones, never asked of a global
/// allocator).
pub(crate) const SMALL_CLASSES: usize = 129;
/// Past 1 KiB they double: class `128 + k` holds `2^(9+k)+1 ..= 2^(10+k)` bytes.
pub(crate) const CLASSES: usize = SMALL_CLASSES + 54;

/// Live bytes (sum of `Layout::size` of the allocations not freed yet).
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Live allocations.
static LIVE_ALLOCS: AtomicUsize = AtomicUsize::new(0);
/// Live allocations per size class.
static CLASS_ALLOCS: [AtomicUsize; CLASSES] = [const { AtomicUsize::new(0) }; CLASSES];
/// Live bytes per size class.
static CLASS_BYTES: [AtomicUsize; CLASSES] = [const { AtomicUsize::new(0) }; CLASSES];

/// The size class of an allocation of `size` bytes (see [`SMALL_CLASSES`], [`CLASSES`]).
pub(crate) fn class_of(size: usize) -> usize {
    if size <= 1024 {
        size.div_ceil(8)
    } else {
        let log2 = usize::BITS - (size - 1).leading_zeros(); // 2^log2 >= size > 2^(log2-1)
        (SMALL_CLASSES - 1 + log2 as usize - 10).min(CLASSES - 1)
    }
}

/// The largest size in class `class`.
pub(crate) fn class_limit(class: usize) -> u64 {
    if class < SMALL_CLASSES {
        class as u64 * 8
    } else {
        1u64.checked_shl((class + 11 - SMALL_CLASSES) as u32)
            .unwrap_or(u64::MAX)
    }
}

/// A global allocator: [`System`], counting live bytes and allocations, in all and per size
/// class. The memory bench installs it (`#[global_allocator]`) in its binary, whose server
/// children are the same binary, so that both sides can read their own heap.
pub struct Counting;

// SAFETY: every allocation, reallocation and deallocation is done by `System` with the
// caller's arguments unchanged, so `System`'s guarantees are ours; beside it we only update
// atomic counters, which neither allocate nor unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract (a non-zero-sized layout), which is
        // what `System.alloc` asks for.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size(), true);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size(), true);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, i.e. by `System`, with `layout` (the
        // caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        count(layout.size(), false);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` with `layout`, and `new_size` is valid for
        // it (the caller's contract, the same as `System.realloc`'s).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // The old block is gone, the new one is live.
            count(new_size, true);
            count(layout.size(), false);
        }
        p
    }
}

/// Counts an allocation of `size` bytes in (`live`) or out.
fn count(size: usize, live: bool) {
    let class = class_of(size);
    if live {
        LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        CLASS_BYTES[class].fetch_add(size, Ordering::Relaxed);
        CLASS_ALLOCS[class].fetch_add(1, Ordering::Relaxed);
    } else {
        LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Ordering::Relaxed);
        CLASS_BYTES[class].fetch_sub(size, Ordering::Relaxed);
        CLASS_ALLOCS[class].fetch_sub(1, Ordering::Relaxed);
    }
}

/// The allocator's counters at one moment. Taking one allocates nothing, so it can be taken
/// between two points without disturbing what is measured; [`HeapSnapshot::heap`] turns it
/// into a [`Heap`] afterwards.
#[derive(Clone, Copy)]
pub(crate) struct HeapSnapshot {
    /// Live bytes.
    pub(crate) bytes: usize,
    /// Live allocations.
    pub(crate) allocs: usize,
    /// Live allocations per size class.
    pub(crate) class_allocs: [usize; CLASSES],
    /// Live bytes per size class.
    pub(crate) class_bytes: [usize; CLASSES],
}

impl HeapSnapshot {
    /// Reads the counters.
    pub(crate) fn now() -> HeapSnapshot {
        let mut s = HeapSnapshot {
            bytes: LIVE_BYTES.load(Ordering::SeqCst),
            allocs: LIVE_ALLOCS.load(Ordering::SeqCst),
            class_allocs: [0; CLASSES],
            class_bytes: [0; CLASSES],
        };
        for c in 0..CLASSES {
            s.class_allocs[c] = CLASS_ALLOCS[c].load(Ordering::SeqCst);
            s.class_bytes[c] = CLASS_BYTES[c].load(Ordering::SeqCst);
        }
        s
    }

    /// The same as a [`Heap`] (which allocates).
    pub(crate) fn heap(&self) -> Heap {
        Heap {
            bytes: self.bytes as u64,
            allocs: self.allocs as u64,
            classes: (0..CLASSES)
                .filter(|&c| self.class_allocs[c] > 0)
                .map(|c| (c, self.class_allocs[c] as u64, self.class_bytes[c] as u64))
                .collect(),
        }
    }
}

/// A live heap: in this process (from a [`HeapSnapshot`]) or in a server child (its answer
/// to `heap`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Heap {
    /// Live bytes.
    pub(crate) bytes: u64,
    /// Live allocations.
    pub(crate) allocs: u64,
    /// `(class, live allocations, live bytes)` of the size classes that hold any, ascending.
    pub(crate) classes: Vec<(usize, u64, u64)>,
}

impl Heap {
    /// The server's answer to `heap`: `BYTES ALLOCATIONS CLASS:ALLOCATIONS:BYTES...`.
    pub(crate) fn to_answer(&self) -> String {
        let mut out = format!("{} {}", self.bytes, self.allocs);
        for (c, n, b) in &self.classes {
            out.push_str(&format!(" {c}:{n}:{b}"));
        }
        out
    }

    /// Parses [`Heap::to_answer`]'s text.
    pub(crate) fn from_answer(answer: &str) -> Result<Heap, String> {
        let bad = || format!("unexpected answer to heap: {answer:?}");
        let mut words = answer.split_whitespace();
        let mut number = || {
            words
                .next()
                .and_then(|w| w.parse::<u64>().ok())
                .ok_or_else(bad)
        };
        let (bytes, allocs) = (number()?, number()?);
        let classes = words
            .map(|w| {
                let mut it = w.split(':');
                let c = it.next()?.parse::<usize>().ok().filter(|&c| c < CLASSES)?;
                let n = it.next()?.parse::<u64>().ok()?;
                let b = it.next()?.parse::<u64>().ok()?;
                it.next().is_none().then_some((c, n, b))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        Ok(Heap {
            bytes,
            allocs,
            classes,
        })
    }

    /// What `self` holds more than `before`, per size class, divided by `per` (tasks,
    /// connections): the classes that changed, ascending.
    pub(crate) fn growth_since(&self, before: &Heap, per: usize) -> Vec<Growth> {
        let find = |h: &Heap, c: usize| {
            h.classes
                .iter()
                .find(|e| e.0 == c)
                .map_or((0.0, 0.0), |e| (e.1 as f64, e.2 as f64))
        };
        let mut classes: Vec<usize> = before
            .classes
            .iter()
            .chain(&self.classes)
            .map(|e| e.0)
            .collect();
        classes.sort_unstable();
        classes.dedup();
        let per = per as f64;
        classes
            .into_iter()
            .map(|c| {
                let ((n0, b0), (n1, b1)) = (find(before, c), find(self, c));
                Growth {
                    max_size: class_limit(c),
                    allocs: (n1 - n0) / per,
                    bytes: (b1 - b0) / per,
                }
            })
            .filter(|g| g.allocs != 0.0 || g.bytes != 0.0)
            .collect()
    }
}

/// The growth of one size class, per task or connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Growth {
    /// The largest size in the class.
    pub(crate) max_size: u64,
    /// Live allocations added.
    pub(crate) allocs: f64,
    /// Live bytes added.
    pub(crate) bytes: f64,
}

/// A growth by size class in words: the classes that gained at least 0.5 allocations per
/// unit, biggest share of bytes first, each as `ALLOCATIONS × MEAN SIZE`, then the bytes of
/// everything else as `other` (a grown queue buffer shared by all, for example):
/// `2.00 × 8,192 B + 1.00 × 600 B + 3 B other`.
pub(crate) fn describe_growth(growth: &[Growth]) -> String {
    let (mut main, rest): (Vec<Growth>, Vec<Growth>) = growth
        .iter()
        .partition(|g| g.allocs >= 0.5 && g.bytes > 0.0);
    main.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    let mut parts: Vec<String> = main
        .iter()
        .map(|g| format!("{:.2} × {} B", g.allocs, fmt_int(g.bytes / g.allocs)))
        .collect();
    let other: f64 = rest.iter().map(|g| g.bytes).sum();
    if other.abs() >= 0.5 || parts.is_empty() {
        parts.push(format!("{} B other", fmt_int(other)));
    }
    parts.join(" + ")
}
