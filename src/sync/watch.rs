//! `watch` (being written).
