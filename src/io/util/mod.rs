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
mod buf_writer;
mod read_ext;
mod seek_ext;
mod write_ext;

#[cfg(test)]
mod test_support;

pub use buf::{BufSource, BufTarget};
pub use buf_read_ext::{AsyncBufReadExt, Lines, Split};
pub use buf_reader::BufReader;
pub use buf_writer::BufWriter;
pub use read_ext::{AsyncReadExt, Chain, Take};
pub use seek_ext::AsyncSeekExt;
pub use write_ext::AsyncWriteExt;
