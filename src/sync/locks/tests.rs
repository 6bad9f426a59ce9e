//! Unit tests of the locks, polled by hand with counting wakers: no runtime, so they run under
//! Miri (`scripts/miri.sh`, filter `sync::`), which checks the guards' `unsafe` accesses.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::*;

#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A waker and its wake count.
struct W {
    count: Arc<Counter>,
    waker: Waker,
}

impl W {
    fn new() -> W {
        let count = Arc::new(Counter::default());
        W {
            waker: Waker::from(count.clone()),
            count,
        }
    }

    fn wakes(&self) -> usize {
        self.count.0.load(SeqCst)
    }

    fn poll<F: Future + ?Sized>(&self, f: Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(&self.waker))
    }
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

fn boxed<'a, T>(f: impl Future<Output = T> + 'a) -> BoxFut<'a, T> {
    Box::pin(f)
}

fn ready<T>(p: Poll<T>) -> T {
    match p {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected Ready"),
    }
}

// ---- Semaphore ----

#[test]
fn semaphore_serves_waiters_fifo() {
    let sem = Semaphore::new(0);
    let (wa, wb, wc) = (W::new(), W::new(), W::new());
    let mut a = boxed(sem.acquire());
    let mut b = boxed(sem.acquire());
    let mut c = boxed(sem.acquire());
    assert!(wa.poll(a.as_mut()).is_pending());
    assert!(wb.poll(b.as_mut()).is_pending());
    assert!(wc.poll(c.as_mut()).is_pending());
    sem.add_permits(1);
    assert_eq!((wa.wakes(), wb.wakes(), wc.wakes()), (1, 0, 0));
    assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::NoPermits));
    let pa = ready(wa.poll(a.as_mut())).unwrap();
    assert!(wc.poll(c.as_mut()).is_pending(), "c is behind b");
    drop(pa);
    assert_eq!((wb.wakes(), wc.wakes()), (1, 0));
    let pb = ready(wb.poll(b.as_mut())).unwrap();
    sem.add_permits(2);
    assert_eq!(wc.wakes(), 1);
    let pc = ready(wc.poll(c.as_mut())).unwrap();
    assert_eq!(sem.available_permits(), 1);
    drop((pb, pc));
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn large_acquire_at_the_head_holds_back_small_ones() {
    let sem = Semaphore::new(2);
    let (wbig, wsmall) = (W::new(), W::new());
    let mut big = boxed(sem.acquire_many(3));
    assert!(wbig.poll(big.as_mut()).is_pending());
    // It took the two free permits and waits for one more.
    assert_eq!(sem.available_permits(), 0);
    let mut small = boxed(sem.acquire());
    assert!(wsmall.poll(small.as_mut()).is_pending());
    assert!(sem.try_acquire().is_err());
    sem.add_permits(1);
    assert_eq!((wbig.wakes(), wsmall.wakes()), (1, 0));
    let permit = ready(wbig.poll(big.as_mut())).unwrap();
    assert_eq!(permit.num_permits(), 3);
    assert!(wsmall.poll(small.as_mut()).is_pending());
    drop(permit);
    assert_eq!(wsmall.wakes(), 1);
    let p = ready(wsmall.poll(small.as_mut())).unwrap();
    assert_eq!(sem.available_permits(), 2);
    drop(p);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn dropped_partial_acquire_passes_its_permits_on() {
    let sem = Semaphore::new(2);
    let (wbig, ws1, ws2) = (W::new(), W::new(), W::new());
    let mut big = boxed(sem.acquire_many(5));
    assert!(wbig.poll(big.as_mut()).is_pending());
    let mut s1 = boxed(sem.acquire());
    let mut s2 = boxed(sem.acquire());
    assert!(ws1.poll(s1.as_mut()).is_pending());
    assert!(ws2.poll(s2.as_mut()).is_pending());
    drop(big);
    // Its two permits went to the two waiters behind it, in order.
    assert_eq!((ws1.wakes(), ws2.wakes()), (1, 1));
    assert_eq!(sem.available_permits(), 0);
    drop(ready(ws1.poll(s1.as_mut())).unwrap());
    drop(ready(ws2.poll(s2.as_mut())).unwrap());
    assert_eq!(sem.available_permits(), 2, "no permit lost");
}

#[test]
fn dropped_granted_acquire_passes_its_permit_on() {
    let sem = Semaphore::new(0);
    let (wa, wb) = (W::new(), W::new());
    let mut a = boxed(sem.acquire());
    let mut b = boxed(sem.acquire());
    assert!(wa.poll(a.as_mut()).is_pending());
    assert!(wb.poll(b.as_mut()).is_pending());
    sem.add_permits(1);
    assert_eq!(wa.wakes(), 1);
    // Woken and granted, but dropped before its next poll.
    drop(a);
    assert_eq!(wb.wakes(), 1);
    drop(ready(wb.poll(b.as_mut())).unwrap());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn dropped_waiting_acquire_leaves_the_queue() {
    let sem = Semaphore::new(0);
    let (wa, wb) = (W::new(), W::new());
    let mut a = boxed(sem.acquire());
    let mut b = boxed(sem.acquire());
    assert!(wa.poll(a.as_mut()).is_pending());
    assert!(wb.poll(b.as_mut()).is_pending());
    drop(a);
    assert_eq!(wa.wakes(), 0);
    sem.add_permits(1);
    assert_eq!(wb.wakes(), 1, "the permit skips the dropped waiter");
    drop(ready(wb.poll(b.as_mut())).unwrap());
}

#[test]
fn close_fails_waiters_and_keeps_their_permits() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    sem.add_permits(1);
    let w = W::new();
    let mut big = boxed(sem.acquire_many(3));
    assert!(w.poll(big.as_mut()).is_pending());
    assert_eq!(sem.available_permits(), 0);
    sem.close();
    assert!(sem.is_closed());
    assert_eq!(w.wakes(), 1);
    assert!(ready(w.poll(big.as_mut())).is_err());
    assert_eq!(
        sem.available_permits(),
        1,
        "the partial assignment came back"
    );
    assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
    assert!(ready(w.poll(boxed(sem.acquire()).as_mut())).is_err());
    drop(held);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn permits_split_merge_forget() {
    let sem = Semaphore::new(4);
    let mut p = sem.try_acquire_many(3).unwrap();
    let q = p.split(2).unwrap();
    assert_eq!((p.num_permits(), q.num_permits()), (1, 2));
    assert!(p.split(2).is_none());
    assert_eq!(p.num_permits(), 1);
    p.merge(q);
    assert_eq!(p.num_permits(), 3);
    assert!(std::ptr::eq(p.semaphore(), &sem));
    p.forget();
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(sem.forget_permits(5), 1);
    assert_eq!(sem.available_permits(), 0);
    let z = sem.try_acquire_many(0).unwrap();
    assert_eq!(z.num_permits(), 0);
}

#[test]
fn owned_permits_split_merge() {
    let sem = Arc::new(Semaphore::new(3));
    let mut p = sem.clone().try_acquire_many_owned(3).unwrap();
    let q = p.split(1).unwrap();
    assert!(Arc::ptr_eq(q.semaphore(), &sem));
    drop(q);
    assert_eq!(sem.available_permits(), 1);
    p.merge(sem.clone().try_acquire_owned().unwrap());
    assert_eq!(p.num_permits(), 3);
    drop(p);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merging_permits_of_two_semaphores_panics() {
    let (a, b) = (Semaphore::new(1), Semaphore::new(1));
    let mut p = a.try_acquire().unwrap();
    p.merge(b.try_acquire().unwrap());
}

#[test]
#[should_panic(expected = "overflow MAX_PERMITS")]
fn add_permits_past_max_panics() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    sem.add_permits(1);
}

#[test]
fn const_semaphore() {
    static SEM: Semaphore = Semaphore::const_new(2);
    let p = SEM.try_acquire_many(2).unwrap();
    assert!(SEM.try_acquire().is_err());
    drop(p);
    assert_eq!(SEM.available_permits(), 2);
}

// ---- Mutex ----

#[test]
fn mutex_lock_order_is_fifo() {
    let m = Mutex::new(Vec::new());
    let g = m.try_lock().unwrap();
    let ws: Vec<W> = (0..3).map(|_| W::new()).collect();
    let mut fs: Vec<_> = (0..3).map(|_| boxed(m.lock())).collect();
    for (w, f) in ws.iter().zip(&mut fs) {
        assert!(w.poll(f.as_mut()).is_pending());
    }
    assert!(m.try_lock().is_err());
    drop(g);
    for i in 0..3 {
        assert_eq!(ws[i].wakes(), 1, "waiter {i} is next");
        for w in &ws[i + 1..] {
            assert_eq!(w.wakes(), 0);
        }
        let mut g = ready(ws[i].poll(fs[i].as_mut()));
        g.push(i);
    }
    assert_eq!(*m.try_lock().unwrap(), [0, 1, 2]);
}

#[test]
fn dropped_lock_future_gives_its_turn_away() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let (wa, wb) = (W::new(), W::new());
    let mut a = boxed(m.lock());
    let mut b = boxed(m.lock());
    assert!(wa.poll(a.as_mut()).is_pending());
    assert!(wb.poll(b.as_mut()).is_pending());
    drop(g);
    assert_eq!(wa.wakes(), 1);
    drop(a);
    assert_eq!(wb.wakes(), 1);
    *ready(wb.poll(b.as_mut())) += 1;
    drop(b);
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn mutex_guard_map_and_try_map() {
    let m = Mutex::new((1, vec![b'a']));
    let mut v = MutexGuard::map(m.try_lock().unwrap(), |p| &mut p.1);
    v.push(b'b');
    assert!(m.try_lock().is_err(), "a mapped guard keeps the lock");
    let mut c = MappedMutexGuard::map(v, |v| &mut v[0]);
    *c = b'z';
    let c = MappedMutexGuard::try_map(c, |_| None::<&mut u8>).unwrap_err();
    let c = MappedMutexGuard::try_map(c, |b| Some(b)).unwrap();
    drop(c);
    let g = m.try_lock().unwrap();
    assert!(std::ptr::eq(MutexGuard::mutex(&g), &m));
    let g = match MutexGuard::try_map(g, |_| None::<&mut u8>) {
        Err(g) => g,
        Ok(_) => panic!("try_map with None must give the guard back"),
    };
    assert_eq!(*g, (1, b"zb".to_vec()));
    let n = MutexGuard::try_map(g, |p| Some(&mut p.0)).unwrap();
    assert_eq!(format!("{n:?} {n}"), "1 1");
}

#[test]
fn owned_guards_and_map() {
    let m = Arc::new(Mutex::new([1, 2, 3]));
    let w = W::new();
    let g = ready(w.poll(boxed(m.clone().lock_owned()).as_mut()));
    assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &m));
    assert!(m.clone().try_lock_owned().is_err());
    let mut last = OwnedMutexGuard::map(g, |a| &mut a[2]);
    *last = 30;
    assert!(Arc::ptr_eq(OwnedMappedMutexGuard::mutex(&last), &m));
    let last = OwnedMappedMutexGuard::try_map(last, |_| None::<&mut u8>).unwrap_err();
    drop(last);
    let g = m.clone().try_lock_owned().unwrap();
    assert_eq!(*g, [1, 2, 30]);
    let g = OwnedMutexGuard::try_map(g, |a| a.get_mut(9)).unwrap_err();
    drop(g);
    assert_eq!(Arc::strong_count(&m), 1, "guards give their Arc back");
}

#[test]
fn unsized_mutex() {
    let m: &Mutex<[u8]> = &Mutex::new([1u8, 2, 3]);
    let mut g = m.try_lock().unwrap();
    g[0] = 9;
    drop(g);
    assert_eq!(&*m.try_lock().unwrap(), &[9, 2, 3]);
}

#[test]
fn mutex_get_mut_into_inner_debug() {
    let mut m = Mutex::new(String::from("x"));
    m.get_mut().push('y');
    assert_eq!(format!("{m:?}"), r#"Mutex { data: "xy" }"#);
    let g = m.try_lock().unwrap();
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    drop(g);
    assert_eq!(m.into_inner(), "xy");
    static M: Mutex<u32> = Mutex::const_new(5);
    assert_eq!(*M.try_lock().unwrap(), 5);
}

#[test]
fn blocking_lock_outside_a_runtime() {
    let m = Arc::new(Mutex::new(0));
    let held = m.clone().try_lock_owned().unwrap();
    let t = {
        let m = m.clone();
        std::thread::spawn(move || {
            *m.blocking_lock() += 1;
            *m.clone().blocking_lock_owned() += 1;
        })
    };
    drop(held);
    t.join().unwrap();
    assert_eq!(*m.blocking_lock(), 2);
}

// ---- RwLock ----

#[test]
fn waiting_writer_holds_back_later_readers() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let (ww, wr) = (W::new(), W::new());
    let mut w = boxed(lock.write());
    assert!(ww.poll(w.as_mut()).is_pending());
    assert!(
        lock.try_read().is_err(),
        "a writer waits: readers queue behind it"
    );
    let mut r2 = boxed(lock.read());
    assert!(wr.poll(r2.as_mut()).is_pending());
    drop(r1);
    assert_eq!((ww.wakes(), wr.wakes()), (1, 0));
    let mut g = ready(ww.poll(w.as_mut()));
    *g = 1;
    assert!(wr.poll(r2.as_mut()).is_pending());
    drop(g);
    assert_eq!(wr.wakes(), 1);
    assert_eq!(*ready(wr.poll(r2.as_mut())), 1);
}

#[test]
fn downgrade_lets_waiting_readers_in() {
    let lock = RwLock::new(1);
    let mut g = lock.try_write().unwrap();
    let (w1, w2, ww) = (W::new(), W::new(), W::new());
    let mut r1 = boxed(lock.read());
    let mut r2 = boxed(lock.read());
    assert!(w1.poll(r1.as_mut()).is_pending());
    assert!(w2.poll(r2.as_mut()).is_pending());
    let mut w = boxed(lock.write());
    assert!(ww.poll(w.as_mut()).is_pending());
    *g = 2;
    let r = g.downgrade();
    assert_eq!((w1.wakes(), w2.wakes(), ww.wakes()), (1, 1, 0));
    let (a, b) = (ready(w1.poll(r1.as_mut())), ready(w2.poll(r2.as_mut())));
    assert_eq!(*a + *b + *r, 6);
    assert!(lock.try_read().is_err(), "the queued writer comes first");
    drop((a, b, r));
    assert_eq!(ww.wakes(), 1);
    *ready(ww.poll(w.as_mut())) = 3;
    drop(w);
    assert_eq!(*lock.try_read().unwrap(), 3);
}

#[test]
fn dropped_write_future_returns_collected_permits() {
    let lock = RwLock::with_max_readers(0, 4);
    let r = lock.try_read().unwrap();
    let (ww, wr) = (W::new(), W::new());
    let mut w = boxed(lock.write());
    assert!(ww.poll(w.as_mut()).is_pending()); // holds 3 of 4
    let mut r2 = boxed(lock.read());
    assert!(wr.poll(r2.as_mut()).is_pending());
    drop(w);
    assert_eq!(
        wr.wakes(),
        1,
        "the reader behind the cancelled writer gets in"
    );
    let r2 = ready(wr.poll(r2.as_mut()));
    drop((r, r2));
    assert!(lock.try_write().is_ok(), "all four permits are back");
}

#[test]
fn max_readers_is_enforced() {
    let lock = RwLock::with_max_readers(5, 2);
    let a = lock.try_read().unwrap();
    let _b = lock.try_read().unwrap();
    assert!(lock.try_read().is_err());
    let w = W::new();
    let mut c = boxed(lock.read());
    assert!(w.poll(c.as_mut()).is_pending());
    drop(a);
    assert_eq!(*ready(w.poll(c.as_mut())), 5);
}

#[test]
#[should_panic(expected = "at least one reader")]
fn zero_max_readers_panics() {
    let _ = RwLock::with_max_readers((), 0);
}

#[test]
fn rwlock_guard_maps() {
    let lock = RwLock::new((1, vec![2, 3]));
    let r = RwLockReadGuard::map(lock.try_read().unwrap(), |p| &p.1);
    let r = RwLockReadGuard::try_map(r, |v| v.first()).unwrap();
    assert_eq!(*r, 2);
    let r = RwLockReadGuard::try_map(r, |_| None::<&u8>).unwrap_err();
    drop(r);
    let w = lock.try_write().unwrap();
    let w = RwLockWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
    let mut m = RwLockWriteGuard::map(w, |p| &mut p.1);
    m.push(4);
    let mut m = RwLockMappedWriteGuard::map(m, |v| &mut v[0]);
    *m = 20;
    assert!(lock.try_read().is_err());
    drop(m);
    let w = lock.try_write().unwrap();
    let r = RwLockWriteGuard::downgrade_map(w, |p| &p.0);
    assert_eq!(*r, 1);
    assert!(lock.try_read().is_ok());
    drop(r);
    let w = lock.try_write().unwrap();
    let w = RwLockWriteGuard::try_downgrade_map(w, |_| None::<&u8>).unwrap_err();
    let mut w = RwLockWriteGuard::into_mapped(w);
    w.0 = 7;
    drop(w);
    assert_eq!(*lock.try_read().unwrap(), (7, vec![20, 3, 4]));
    assert_eq!(lock.into_inner(), (7, vec![20, 3, 4]));
}

#[test]
fn owned_rwlock_guards() {
    let lock = Arc::new(RwLock::new([0u32; 4]));
    let w = W::new();
    let mut g = ready(w.poll(boxed(lock.clone().write_owned()).as_mut()));
    g[0] = 1;
    assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&g), &lock));
    assert!(lock.clone().try_read_owned().is_err());
    let r = OwnedRwLockWriteGuard::downgrade_map(g, |a| &a[0]);
    assert_eq!(*r, 1);
    let r2 = lock.clone().try_read_owned().unwrap();
    let r2 = OwnedRwLockReadGuard::map(r2, |a| &a[1..]);
    assert_eq!(r2.len(), 3);
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r2), &lock));
    let r2 = OwnedRwLockReadGuard::try_map(r2, |s| s.get(9)).unwrap_err();
    drop((r, r2));
    let g = lock.clone().try_write_owned().unwrap();
    let g = OwnedRwLockWriteGuard::try_map(g, |a| a.get_mut(9)).unwrap_err();
    let mut m = OwnedRwLockWriteGuard::map(g, |a| &mut a[3]);
    *m = 4;
    assert!(Arc::ptr_eq(OwnedRwLockMappedWriteGuard::rwlock(&m), &lock));
    let mut m = OwnedRwLockMappedWriteGuard::try_map(m, |x: &mut u32| Some(x)).unwrap();
    *m += 1;
    drop(m);
    let g = lock.clone().try_write_owned().unwrap();
    let r = g.downgrade();
    assert_eq!(*r, [1, 0, 0, 5]);
    let g = ready(w.poll(boxed(lock.clone().read_owned()).as_mut()));
    drop((r, g));
    let g = OwnedRwLockWriteGuard::into_mapped(lock.clone().try_write_owned().unwrap());
    drop(g);
    let g = lock.clone().try_write_owned().unwrap();
    let g = OwnedRwLockWriteGuard::try_downgrade_map(g, |a| a.get(9)).unwrap_err();
    let r = OwnedRwLockWriteGuard::try_downgrade_map(g, |a| a.get(3)).unwrap();
    assert_eq!(*r, 5);
    assert!(lock.clone().try_read_owned().is_ok());
    drop(r);
    assert_eq!(Arc::strong_count(&lock), 1);
}

// ---- OnceCell, SetOnce, Barrier ----

/// A future that is `Pending` until `flag` is set (waking nobody: tests poll again by hand).
fn gate(flag: &AtomicUsize) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(move |_| {
        if flag.load(SeqCst) > 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

#[test]
fn once_cell_runs_one_initializer_and_waiters_get_its_value() {
    let cell = OnceCell::new();
    let open = AtomicUsize::new(0);
    let runs = AtomicUsize::new(0);
    let init = || async {
        runs.fetch_add(1, SeqCst);
        gate(&open).await;
        7
    };
    let (wa, wb) = (W::new(), W::new());
    let mut a = boxed(cell.get_or_init(init));
    let mut b = boxed(cell.get_or_init(init));
    assert!(wa.poll(a.as_mut()).is_pending());
    assert!(wb.poll(b.as_mut()).is_pending());
    assert_eq!(runs.load(SeqCst), 1, "b waits for a's initializer");
    assert!(cell.set(1).unwrap_err().is_initializing_err());
    open.store(1, SeqCst);
    assert_eq!(*ready(wa.poll(a.as_mut())), 7);
    assert_eq!(wb.wakes(), 1);
    assert_eq!(*ready(wb.poll(b.as_mut())), 7);
    assert_eq!(runs.load(SeqCst), 1);
    assert!(cell.set(1).unwrap_err().is_already_init_err());
    assert_eq!(*ready(wa.poll(boxed(cell.get_or_init(init)).as_mut())), 7);
}

#[test]
fn cancelled_or_failed_init_lets_the_next_caller_try() {
    let cell = OnceCell::new();
    let (wa, wb, wc) = (W::new(), W::new(), W::new());
    let never = AtomicUsize::new(0);
    let mut a = boxed(cell.get_or_init(|| async {
        gate(&never).await;
        1
    }));
    let mut b = boxed(cell.get_or_try_init(|| async { Err::<u32, _>("no") }));
    let mut c = boxed(cell.get_or_try_init(|| async { Ok::<_, &str>(3) }));
    assert!(wa.poll(a.as_mut()).is_pending());
    assert!(wb.poll(b.as_mut()).is_pending());
    assert!(wc.poll(c.as_mut()).is_pending());
    drop(a); // cancelled while initializing
    assert_eq!(wb.wakes(), 1);
    assert_eq!(ready(wb.poll(b.as_mut())), Err("no"));
    assert!(!cell.initialized());
    assert_eq!(wc.wakes(), 1);
    assert_eq!(ready(wc.poll(c.as_mut())), Ok(&3));
    assert_eq!(cell.get(), Some(&3));
}

#[test]
fn once_cell_take_set_and_traits() {
    let mut cell = OnceCell::new_with(Some(String::from("a")));
    assert!(cell.initialized());
    cell.get_mut().unwrap().push('b');
    assert_eq!(cell.clone(), OnceCell::from(String::from("ab")));
    assert_eq!(format!("{cell:?}"), r#"OnceCell { value: Some("ab") }"#);
    assert_eq!(cell.take().as_deref(), Some("ab"));
    assert!(!cell.initialized());
    assert!(
        cell.set(String::from("c")).is_ok(),
        "usable again after take"
    );
    assert_eq!(cell.into_inner().as_deref(), Some("c"));
    static C: OnceCell<u8> = OnceCell::const_new();
    assert_eq!(C.get(), None);
    assert!(C.set(1).is_ok());
    assert_eq!(OnceCell::<u8>::default().into_inner(), None);
}

#[test]
fn set_once_wakes_waiters() {
    let once = SetOnce::new();
    let (wa, wb) = (W::new(), W::new());
    let mut a = boxed(once.wait());
    let mut b = boxed(once.wait());
    assert!(wa.poll(a.as_mut()).is_pending());
    assert!(wb.poll(b.as_mut()).is_pending());
    assert!(!once.initialized());
    once.set(5).unwrap();
    assert_eq!(once.set(6), Err(SetOnceError(6)));
    assert_eq!((wa.wakes(), wb.wakes()), (1, 1));
    assert_eq!(*ready(wa.poll(a.as_mut())), 5);
    assert_eq!(*ready(wb.poll(b.as_mut())), 5);
    assert_eq!(*ready(wa.poll(boxed(once.wait()).as_mut())), 5);
    assert_eq!(once.get(), Some(&5));
    assert_eq!(SetOnce::new_with(Some(1)).into_inner(), Some(1));
    static S: SetOnce<u8> = SetOnce::const_new();
    assert!(!S.initialized());
}

#[test]
fn barrier_has_one_leader_per_generation() {
    let barrier = Barrier::new(3);
    for generation in 0..3 {
        let ws: Vec<W> = (0..3).map(|_| W::new()).collect();
        let mut fs: Vec<_> = (0..3).map(|_| boxed(barrier.wait())).collect();
        assert!(ws[0].poll(fs[0].as_mut()).is_pending());
        assert!(ws[1].poll(fs[1].as_mut()).is_pending());
        let last = ready(ws[2].poll(fs[2].as_mut()));
        assert!(
            last.is_leader(),
            "generation {generation}: the last arrival leads"
        );
        assert_eq!((ws[0].wakes(), ws[1].wakes()), (1, 1));
        assert!(!ready(ws[0].poll(fs[0].as_mut())).is_leader());
        assert!(!ready(ws[1].poll(fs[1].as_mut())).is_leader());
    }
    let w = W::new();
    assert!(ready(w.poll(boxed(Barrier::new(0).wait()).as_mut())).is_leader());
}

#[test]
fn dropped_barrier_wait_still_counts() {
    let barrier = Barrier::new(2);
    let w = W::new();
    let mut a = boxed(barrier.wait());
    assert!(w.poll(a.as_mut()).is_pending());
    drop(a);
    assert!(ready(w.poll(boxed(barrier.wait()).as_mut())).is_leader());
}

// ---- auto traits (as Tokio's) ----

/// Compiles only if the type does not implement the trait: if it does, both impls apply and
/// the call is ambiguous. (A macro: the check must see the concrete type.)
macro_rules! assert_not {
    ($trait:path: $($ty:ty),* $(,)?) => {$({
        trait AmbiguousIfImpl<A> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
        impl<T: ?Sized + $trait> AmbiguousIfImpl<u8> for T {}
        <$ty as AmbiguousIfImpl<_>>::check();
    })*};
}

#[allow(dead_code)]
fn auto_traits() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    fn send_sync<T: Send + Sync>() {}
    type Rc = std::rc::Rc<u8>;
    type Cell = std::cell::Cell<u8>;
    send_sync::<Semaphore>();
    send_sync::<SemaphorePermit<'_>>();
    send_sync::<OwnedSemaphorePermit>();
    send_sync::<Mutex<Cell>>(); // `T: Send` is enough for a mutex
    send::<MutexGuard<'_, Cell>>();
    send_sync::<MutexGuard<'_, u8>>();
    send::<OwnedMutexGuard<Cell>>();
    send_sync::<OwnedMutexGuard<u8>>();
    send::<MappedMutexGuard<'_, Cell>>();
    send_sync::<MappedMutexGuard<'_, u8>>();
    send_sync::<OwnedMappedMutexGuard<u8, u8>>();
    send::<RwLock<Cell>>();
    send_sync::<RwLock<u8>>();
    send_sync::<RwLockReadGuard<'_, u8>>();
    send_sync::<RwLockWriteGuard<'_, u8>>();
    send_sync::<RwLockMappedWriteGuard<'_, u8>>();
    send_sync::<OwnedRwLockReadGuard<u8>>();
    send_sync::<OwnedRwLockWriteGuard<u8>>();
    send_sync::<OwnedRwLockMappedWriteGuard<u8>>();
    send_sync::<OnceCell<u8>>();
    send::<OnceCell<Cell>>();
    send_sync::<SetOnce<u8>>();
    send_sync::<Barrier>();
    sync::<Barrier>();
    // ... and the ones that must not be: a guard shared across threads would share `&T`.
    assert_not!(Sync: MutexGuard<'_, Cell>, OwnedMutexGuard<Cell>, RwLock<Cell>, OnceCell<Cell>);
    assert_not!(Send: MappedMutexGuard<'_, Rc>, RwLockReadGuard<'_, Cell>, RwLockWriteGuard<'_, Cell>);
    assert_not!(Send: OwnedMutexGuard<Rc>, Mutex<Rc>, OwnedRwLockReadGuard<Cell>);
    // The futures are `Send` too.
    fn send_fut<F: Future + Send>(_: F) {}
    let m = Mutex::new(0u8);
    send_fut(m.lock());
    let l = RwLock::new(0u8);
    send_fut(l.read());
    send_fut(l.write());
    let s = Semaphore::new(1);
    send_fut(s.acquire());
    let c = OnceCell::<u8>::new();
    send_fut(c.get_or_init(|| async { 1 }));
    let b = Barrier::new(1);
    send_fut(b.wait());
    let o = SetOnce::<u8>::new();
    send_fut(o.wait());
}
