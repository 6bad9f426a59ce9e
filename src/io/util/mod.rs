//! The I/O extension traits and utilities: Tokio's `tokio::io` helpers, written for rawrt.
//!
//! - The `*Ext` traits turn the poll-level traits into `async` methods. Each method returns
//!   a small named future that borrows the I/O object and polls it in place: no allocation,
//!   no boxing, `Send` whenever the I/O object is.
//! - The wrappers ([`BufReader`], [`BufWriter`], [`BufStream`], [`Chain`], [`Take`]) own
//!   their inner object and implement the poll traits themselves.
//!
//! Nothing here does I/O of its own: it all runs inside the polling task, on whatever the
//! inner object does.

mod buf;
mod buf_read_ext;
mod buf_reader;
mod buf_stream;
mod buf_writer;
mod copy;
mod duplex;
mod join;
mod mem;
mod read_ext;
mod seek_ext;
mod split;
mod write_ext;

#[cfg(test)]
mod test_support;

pub use buf::{BufSource, BufTarget};
pub use buf_read_ext::{AsyncBufReadExt, Lines, Split};
pub use buf_reader::BufReader;
pub use buf_stream::BufStream;
pub use buf_writer::BufWriter;
pub use copy::{copy, copy_bidirectional, copy_bidirectional_with_sizes, copy_buf};
pub use duplex::{duplex, simplex, DuplexStream, SimplexStream};
pub use join::{join, Join};
pub use mem::{empty, repeat, sink, Empty, Repeat, Sink};
pub use read_ext::{AsyncReadExt, Chain, Take};
pub use seek_ext::AsyncSeekExt;
pub use split::{split, ReadHalf, WriteHalf};
pub use write_ext::AsyncWriteExt;
