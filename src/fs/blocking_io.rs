//! The blocking-I/O state machine behind [`File`](super::File) and
//! [`Stdin`](crate::io::Stdin)/[`Stdout`](crate::io::Stdout)/[`Stderr`](crate::io::Stderr).
//!
//! A [`Blocking<T>`] drives a synchronous reader/writer `T` (shared with the pool through an
//! `Arc`) from poll methods. At most one operation is in flight on the blocking pool; it owns
//! the state machine's one buffer while it runs and hands it back with its result:
//!
//! - a read reads up to `max(caller's room, 64 KiB)` bytes (at most `max_buf`) into the
//!   buffer on the pool; the bytes are then served from the buffer until it is empty
//!   (read-ahead), so small reads do not each cost a pool trip;
//! - a write copies up to `max_buf` bytes into the buffer, starts the write on the pool and
//!   returns at once; a failed write is kept and reported by the next operation (or flush);
//! - anything that moves the position while read-ahead bytes are unread (a write, a seek, a
//!   `set_len`) first seeks back over them, in the same pool trip;
//! - "other" operations (`File::sync_all`, `metadata`, ...) run in the same slot, so
//!   everything on one `Blocking` runs in the order it was started.
//!
//! Dropping a future that is waiting on an operation does not cancel it: the operation
//! finishes on the pool and the next poll collects its result (read bytes stay buffered, a
//! write error is kept).

use std::any::Any;
use std::future::Future;
use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use crate::io::ReadBuf;
use crate::runtime::Handle;
use crate::task::{JoinError, JoinHandle};

/// The default largest buffer one pool trip reads into or writes from: 2 MiB, as Tokio.
pub(crate) const DEFAULT_MAX_BUF_SIZE: usize = 2 * 1024 * 1024;

/// The least a read asks of the OS (if the max buffer size allows): small reads are then
/// served from one pool trip's read-ahead.
pub(crate) const READ_AHEAD: usize = 64 * 1024;

/// What a [`Blocking`] needs from the thing it drives. All methods run on a pool thread.
pub(crate) trait BlockingTarget: Send + Sync + 'static {
    /// One read into `buf`.
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes all of `buf` (and pushes it past any buffer of `T`'s own).
    fn write_all(&self, buf: &[u8]) -> io::Result<()>;
    /// Moves the position.
    fn seek(&self, pos: SeekFrom) -> io::Result<u64>;
}

impl BlockingTarget for std::fs::File {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut &*self, buf)
    }
    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut &*self, buf)
    }
    fn seek(&self, pos: SeekFrom) -> io::Result<u64> {
        io::Seek::seek(&mut &*self, pos)
    }
}

/// Runs `f` on the current runtime's blocking pool and waits for it; a pool failure becomes
/// an `io::Error` (see [`join_error`]). Outside a runtime it is an error, not a panic.
pub(crate) async fn asyncify<F, R>(f: F) -> io::Result<R>
where
    F: FnOnce() -> io::Result<R> + Send + 'static,
    R: Send + 'static,
{
    match spawn(f)?.await {
        Ok(r) => r,
        Err(e) => Err(join_error(e)),
    }
}

/// `spawn_blocking` on the current runtime, or an error saying there is none.
pub(crate) fn spawn<F, R>(f: F) -> io::Result<JoinHandle<R>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Handle::try_current() {
        Ok(handle) => Ok(handle.spawn_blocking(f)),
        Err(_) => Err(io::Error::other(
            "rawrt: file and stdio operations run on the blocking pool and need a current \
             rawrt runtime (call them from a task or inside Runtime::block_on)",
        )),
    }
}

/// The `io::Error` for a blocking-pool task that produced no result. A cancellation with an
/// OS cause (the pool could not start a thread) keeps that cause and its `raw_os_error`; a
/// panic keeps its message; a plain cancellation (runtime shutdown) is `Other`, never
/// `Interrupted`, so that retry-on-EINTR loops such as `write_all` do not spin on it.
pub(crate) fn join_error(err: JoinError) -> io::Error {
    if err.is_cancelled() && std::error::Error::source(&err).is_some() {
        return io::Error::from(err);
    }
    io::Error::other(format!("rawrt: blocking pool operation failed: {err}"))
}

/// The buffer the in-flight operation owns: `data[pos..end]` is unread read-ahead, or the
/// bytes of a write. `data` stays allocated (and initialised) between operations, so reads
/// do not zero it again.
#[derive(Debug, Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Buf {
    fn unread(&self) -> usize {
        self.end - self.pos
    }

    fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    /// Moves as much read-ahead as fits into `dst`.
    fn copy_to(&mut self, dst: &mut ReadBuf<'_>) {
        let n = self.unread().min(dst.remaining());
        dst.put_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.end {
            self.clear();
        }
    }

    /// Drops the read-ahead; returns how far the real position is past the logical one.
    fn discard_unread(&mut self) -> i64 {
        let n = self.unread();
        self.clear();
        n as i64
    }

    /// One read of up to `want` bytes (on the pool).
    fn read_from<T: BlockingTarget>(&mut self, target: &T, want: usize) -> io::Result<()> {
        self.clear();
        if self.data.len() < want {
            self.data.resize(want, 0);
        }
        let n = target.read(&mut self.data[..want])?;
        // A reader claiming more than it was given would be a bug in it; do not trust it.
        self.end = n.min(want);
        Ok(())
    }

    /// Copies up to `max` bytes of `srcs` in, as the bytes of a write; returns how many.
    fn fill_from(&mut self, srcs: &[IoSlice<'_>], max: usize) -> usize {
        self.clear();
        self.data.clear();
        for src in srcs {
            let take = src.len().min(max - self.data.len());
            self.data.extend_from_slice(&src[..take]);
            if self.data.len() == max {
                break;
            }
        }
        self.end = self.data.len();
        self.end
    }

    fn written(&self) -> &[u8] {
        &self.data[..self.end]
    }
}

/// The result an operation hands back with the buffer.
enum Op {
    Read(io::Result<()>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
    Other(io::Result<Box<dyn Any + Send>>),
}

/// The state machine; see the module docs.
pub(crate) struct Blocking<T> {
    target: Arc<T>,
    /// `Some` exactly when no operation is in flight.
    buf: Option<Buf>,
    busy: Option<JoinHandle<(Op, Buf)>>,
    /// A background write's error, for the next operation to report.
    write_err: Option<io::Error>,
    max_buf: usize,
}

impl<T: BlockingTarget> Blocking<T> {
    pub(crate) fn new(target: Arc<T>) -> Blocking<T> {
        Blocking {
            target,
            buf: Some(Buf::default()),
            busy: None,
            write_err: None,
            max_buf: DEFAULT_MAX_BUF_SIZE,
        }
    }

    pub(crate) fn set_max_buf_size(&mut self, n: usize) {
        self.max_buf = n.max(1);
    }

    /// Whether an operation is in flight.
    pub(crate) fn is_busy(&self) -> bool {
        self.busy.is_some()
    }

    /// Bytes read ahead and not yet consumed.
    pub(crate) fn unread(&self) -> usize {
        self.buf.as_ref().map_or(0, Buf::unread)
    }

    /// Takes a background write's error, if one is waiting to be reported.
    pub(crate) fn take_write_error(&mut self) -> Option<io::Error> {
        self.write_err.take()
    }

    /// Starts `f` on the pool with the buffer; the caller has checked that nothing is in
    /// flight.
    fn start(&mut self, f: impl FnOnce(&T, &mut Buf) -> Op + Send + 'static) -> io::Result<()> {
        let mut buf = self.buf.take().unwrap_or_default();
        let target = self.target.clone();
        match spawn(move || {
            let op = f(&target, &mut buf);
            (op, buf)
        }) {
            Ok(handle) => {
                self.busy = Some(handle);
                Ok(())
            }
            Err(e) => {
                // The closure (and the buffer in it) was dropped; start over with an empty
                // one.
                self.buf = Some(Buf::default());
                Err(e)
            }
        }
    }

    /// Waits for the operation in flight, if any, and returns its result; afterwards the
    /// machine is idle.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Op>>> {
        let Some(handle) = self.busy.as_mut() else {
            return Poll::Ready(Ok(None));
        };
        let res = ready!(Pin::new(handle).poll(cx));
        self.busy = None;
        Poll::Ready(match res {
            Ok((op, buf)) => {
                self.buf = Some(buf);
                Ok(Some(op))
            }
            Err(e) => {
                self.buf = Some(Buf::default());
                Err(join_error(e))
            }
        })
    }

    /// Files away the result of an operation its caller was not waiting for: a write error is
    /// kept for later; read-ahead stays in the buffer; anything else is dropped.
    fn keep(&mut self, op: Op) {
        if let Op::Write(Err(e)) = op {
            self.write_err.get_or_insert(e);
        }
    }

    /// Waits until nothing is in flight, keeping any write error (or pool failure) to be
    /// reported by the next operation.
    pub(crate) fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match ready!(self.poll_done(cx)) {
            Ok(Some(op)) => self.keep(op),
            Ok(None) => {}
            Err(e) => {
                self.write_err.get_or_insert(e);
            }
        }
        Poll::Ready(())
    }

    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let read_done = match ready!(self.poll_done(cx))? {
                Some(Op::Read(Err(e))) => return Poll::Ready(Err(e)),
                // What it read (nothing: end of file) is the answer, even if it was started
                // by a read future since dropped.
                Some(Op::Read(Ok(()))) => true,
                Some(op) => {
                    self.keep(op);
                    false
                }
                None => false,
            };
            if let Some(e) = self.write_err.take() {
                return Poll::Ready(Err(e));
            }
            let buf = self.buf.get_or_insert_with(Buf::default);
            if read_done || buf.unread() > 0 || dst.remaining() == 0 {
                buf.copy_to(dst);
                return Poll::Ready(Ok(()));
            }
            // Read ahead: at least READ_AHEAD, or the caller's room if larger, never more
            // than the max buffer size.
            let want = dst.remaining().max(READ_AHEAD).min(self.max_buf);
            self.start(move |target, buf| Op::Read(buf.read_from(target, want)))?;
        }
    }

    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(src)])
    }

    pub(crate) fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        srcs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(op) = ready!(self.poll_done(cx))? {
            self.keep(op);
        }
        if let Some(e) = self.write_err.take() {
            return Poll::Ready(Err(e));
        }
        if srcs.iter().all(|s| s.is_empty()) {
            // Nothing to write: no trip, and the read-ahead stays.
            return Poll::Ready(Ok(0));
        }
        let buf = self.buf.get_or_insert_with(Buf::default);
        let back = buf.discard_unread();
        let n = buf.fill_from(srcs, self.max_buf);
        self.start(move |target, buf| {
            let mut res = Ok(());
            if back > 0 {
                res = target.seek(SeekFrom::Current(-back)).map(drop);
            }
            let res = res.and_then(|()| target.write_all(buf.written()));
            buf.clear();
            Op::Write(res)
        })?;
        Poll::Ready(Ok(n))
    }

    /// Waits for the write in flight and reports any write error.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(op) = ready!(self.poll_done(cx))? {
            self.keep(op);
        }
        Poll::Ready(match self.write_err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        })
    }

    pub(crate) fn start_seek(&mut self, pos: SeekFrom) -> io::Result<()> {
        if self.busy.is_some() {
            return Err(io::Error::other(
                "an operation is in flight: call poll_complete before start_seek",
            ));
        }
        if let Some(e) = self.write_err.take() {
            return Err(e);
        }
        let back = self.buf.get_or_insert_with(Buf::default).discard_unread();
        // The OS position is `back` bytes past the logical one.
        let pos = match pos {
            SeekFrom::Current(off) => match off.checked_sub(back) {
                Some(off) => SeekFrom::Current(off),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "seek offset overflows",
                    ))
                }
            },
            other => other,
        };
        self.start(move |target, _| Op::Seek(target.seek(pos)))
    }

    /// The result of the seek in flight; with none, the current position (asked of the OS:
    /// one pool trip, after any operation in flight).
    pub(crate) fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        loop {
            match ready!(self.poll_done(cx))? {
                Some(Op::Seek(res)) => return Poll::Ready(res),
                Some(op) => self.keep(op),
                None => self.start_seek(SeekFrom::Current(0))?,
            }
        }
    }

    /// Starts `f` in the slot (the caller has waited for [`poll_idle`](Self::poll_idle)).
    /// With `seek_back`, read-ahead is dropped and the position moved back over it first.
    pub(crate) fn start_other<R, F>(&mut self, seek_back: bool, f: F) -> io::Result<()>
    where
        F: FnOnce(&T) -> io::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let back = if seek_back {
            self.buf.get_or_insert_with(Buf::default).discard_unread()
        } else {
            0
        };
        self.start(move |target, _| {
            let mut res = Ok(());
            if back > 0 {
                res = target.seek(SeekFrom::Current(-back)).map(drop);
            }
            Op::Other(res.and_then(|()| f(target).map(|r| Box::new(r) as Box<dyn Any + Send>)))
        })
    }

    /// The result of the operation [`start_other`](Self::start_other) started.
    pub(crate) fn poll_other<R: 'static>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let res = match ready!(self.poll_done(cx))? {
            Some(Op::Other(res)) => res,
            Some(op) => {
                self.keep(op);
                Err(io::Error::other(
                    "rawrt: the file operation's result went missing",
                ))
            }
            None => Err(io::Error::other(
                "rawrt: the file operation's result went missing",
            )),
        };
        Poll::Ready(res.and_then(|b| {
            b.downcast::<R>()
                .map(|r| *r)
                .map_err(|_| io::Error::other("rawrt: the file operation returned the wrong type"))
        }))
    }

    /// The target.
    pub(crate) fn target(&self) -> &T {
        &self.target
    }

    /// Gives up the target (after [`poll_idle`](Self::poll_idle)).
    pub(crate) fn into_target(self) -> Arc<T> {
        self.target
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{mpsc, Mutex};

    /// An in-memory target that counts reads and can be told to panic or to block a write.
    #[derive(Default)]
    struct Fake {
        data: Mutex<(Vec<u8>, usize)>,
        reads: AtomicUsize,
        panic_on_write: AtomicBool,
        gate: Mutex<Option<mpsc::Receiver<()>>>,
    }

    impl BlockingTarget for Fake {
        fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let mut d = self.data.lock().unwrap();
            let (bytes, pos) = &mut *d;
            let n = buf.len().min(bytes.len() - *pos);
            buf[..n].copy_from_slice(&bytes[*pos..*pos + n]);
            *pos += n;
            Ok(n)
        }
        fn write_all(&self, buf: &[u8]) -> io::Result<()> {
            if let Some(rx) = self.gate.lock().unwrap().take() {
                let _ = rx.recv();
            }
            if self.panic_on_write.swap(false, Ordering::SeqCst) {
                panic!("fake write failed");
            }
            self.data.lock().unwrap().0.extend_from_slice(buf);
            Ok(())
        }
        fn seek(&self, _: SeekFrom) -> io::Result<u64> {
            Err(io::Error::from(io::ErrorKind::Unsupported))
        }
    }

    fn rt() -> crate::Runtime {
        crate::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    }

    async fn read(io: &mut Blocking<Fake>, n: usize) -> io::Result<Vec<u8>> {
        let mut bytes = vec![0; n];
        let mut buf = ReadBuf::new(&mut bytes);
        poll_fn(|cx| io.poll_read(cx, &mut buf)).await?;
        let k = buf.filled().len();
        bytes.truncate(k);
        Ok(bytes)
    }

    #[test]
    fn join_errors_keep_the_panic_message_and_are_never_interrupted() {
        rt().block_on(async {
            let err = crate::task::spawn_blocking(|| -> () { panic!("boom 42") })
                .await
                .unwrap_err();
            let e = join_error(err);
            assert_eq!(e.kind(), io::ErrorKind::Other);
            assert!(e.to_string().contains("boom 42"), "{e}");
            let handle = crate::task::spawn(std::future::pending::<()>());
            handle.abort();
            let e = join_error(handle.await.unwrap_err());
            assert_eq!(e.kind(), io::ErrorKind::Other, "{e}");
        });
    }

    #[test]
    fn small_reads_are_served_from_the_read_ahead() {
        rt().block_on(async {
            let fake = Arc::new(Fake::default());
            fake.data.lock().unwrap().0 = (0..=255).cycle().take(100_000).collect();
            let mut io = Blocking::new(fake.clone());
            let mut got = Vec::new();
            loop {
                let chunk = read(&mut io, 10).await.unwrap();
                if chunk.is_empty() {
                    break;
                }
                got.extend_from_slice(&chunk);
            }
            assert_eq!(got, fake.data.lock().unwrap().0);
            // 100_000 bytes in READ_AHEAD pieces, plus the read that saw the end.
            assert_eq!(
                fake.reads.load(Ordering::SeqCst),
                100_000usize.div_ceil(READ_AHEAD) + 1
            );
            // A smaller max buffer size bounds the read-ahead.
            fake.data.lock().unwrap().1 = 0;
            fake.reads.store(0, Ordering::SeqCst);
            io.set_max_buf_size(1000);
            assert_eq!(read(&mut io, 10).await.unwrap().len(), 10);
            assert_eq!(io.unread(), 990);
            assert_eq!(read(&mut io, 5000).await.unwrap().len(), 990);
            assert_eq!(read(&mut io, 5000).await.unwrap().len(), 1000);
            assert_eq!(fake.reads.load(Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn one_operation_in_flight_and_a_panicking_write_is_reported() {
        rt().block_on(async {
            let fake = Arc::new(Fake::default());
            let (tx, rx) = mpsc::channel();
            *fake.gate.lock().unwrap() = Some(rx);
            let mut io = Blocking::new(fake.clone());
            assert_eq!(poll_fn(|cx| io.poll_write(cx, b"ab")).await.unwrap(), 2);
            // The first write is held on the pool: a second one must wait for it.
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            assert!(io.poll_write(&mut cx, b"cd").is_pending());
            assert!(io.is_busy());
            tx.send(()).unwrap();
            assert_eq!(poll_fn(|cx| io.poll_write(cx, b"cd")).await.unwrap(), 2);
            poll_fn(|cx| io.poll_flush(cx)).await.unwrap();
            assert_eq!(fake.data.lock().unwrap().0, b"abcd");

            // A write whose pool task panics: reported by flush, with the message.
            fake.panic_on_write.store(true, Ordering::SeqCst);
            assert_eq!(poll_fn(|cx| io.poll_write(cx, b"ef")).await.unwrap(), 2);
            let err = poll_fn(|cx| io.poll_flush(cx)).await.unwrap_err();
            assert!(err.to_string().contains("fake write failed"), "{err}");
            // Still usable.
            assert_eq!(poll_fn(|cx| io.poll_write(cx, b"gh")).await.unwrap(), 2);
            poll_fn(|cx| io.poll_flush(cx)).await.unwrap();
            assert_eq!(fake.data.lock().unwrap().0, b"abcdgh");
        });
    }
}
