//! Filesystem operations on the blocking pool (being written).
