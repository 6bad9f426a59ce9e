//! The I/O extension traits and utilities (being written).
