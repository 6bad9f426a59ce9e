//! A minimal slab for waiter slots: a `Vec` whose freed entries are reused, so that a waiting
//! future can hold a stable `usize` key to its slot (instead of a pointer into an intrusive
//! list, which would need `unsafe` and pinning). Used by `mpsc`, `Notify` and the reactor's
//! readiness waiters, always under their mutex.

/// Entries addressed by the key [`insert`](Slab::insert) returns, valid until
/// [`remove`](Slab::remove).
#[derive(Debug)]
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// Head of the free list threaded through the vacant entries (`entries.len()` if none).
    next_free: usize,
}

#[derive(Debug)]
enum Entry<T> {
    Occupied(T),
    /// Vacant; holds the next free index.
    Vacant(usize),
}

impl<T> Default for Slab<T> {
    fn default() -> Slab<T> {
        Slab::new()
    }
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Slab<T> {
        Slab {
            entries: Vec::new(),
            next_free: 0,
        }
    }

    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        let key = self.next_free;
        if key == self.entries.len() {
            self.entries.push(Entry::Occupied(value));
            self.next_free = key + 1;
        } else {
            match std::mem::replace(&mut self.entries[key], Entry::Occupied(value)) {
                Entry::Vacant(next) => self.next_free = next,
                Entry::Occupied(_) => unreachable!("slab free list points at an occupied entry"),
            }
        }
        key
    }

    /// The entry at `key`.
    ///
    /// # Panics
    /// If `key` is vacant: keys are owned by exactly one future, so that is a bug in the caller.
    pub(crate) fn get_mut(&mut self, key: usize) -> &mut T {
        match self.entries.get_mut(key) {
            Some(Entry::Occupied(value)) => value,
            _ => panic!("slab: invalid key {key}"),
        }
    }

    /// Frees the entry at `key` and returns its value.
    ///
    /// # Panics
    /// If `key` is vacant.
    pub(crate) fn remove(&mut self, key: usize) -> T {
        if !matches!(self.entries.get(key), Some(Entry::Occupied(_))) {
            panic!("slab: invalid key {key}");
        }
        let entry = std::mem::replace(&mut self.entries[key], Entry::Vacant(self.next_free));
        self.next_free = key;
        match entry {
            Entry::Occupied(value) => value,
            Entry::Vacant(_) => unreachable!(),
        }
    }

    /// Every occupied entry.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().filter_map(|e| match e {
            Entry::Occupied(value) => Some(value),
            Entry::Vacant(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn keys_are_stable_and_reused() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        let b = slab.insert("b");
        let c = slab.insert("c");
        assert_eq!(slab.remove(b), "b");
        assert_eq!(*slab.get_mut(a), "a");
        assert_eq!(*slab.get_mut(c), "c");
        let d = slab.insert("d");
        assert_eq!(d, b, "a freed key is reused");
        assert_eq!(slab.remove(a), "a");
        assert_eq!(slab.remove(c), "c");
        let e = slab.insert("e");
        let f = slab.insert("f");
        let g = slab.insert("g");
        assert_eq!((e, f), (c, a), "the free list is LIFO");
        assert_eq!(g, 3);
        let mut all: Vec<_> = slab.iter_mut().map(|v| *v).collect();
        all.sort_unstable();
        assert_eq!(all, ["d", "e", "f", "g"]);
    }

    #[test]
    #[should_panic(expected = "invalid key")]
    fn removing_twice_panics() {
        let mut slab = Slab::new();
        let a = slab.insert(1);
        slab.remove(a);
        slab.remove(a);
    }
}
