//! I/O readiness: [`Interest`] (what to wait for) and [`Ready`] (what a resource is ready
//! for), as taken and returned by `readable`, `writable` and `ready` on rawrt's sockets.

mod ready;

pub use ready::{Interest, Ready};
