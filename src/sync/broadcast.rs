//! `broadcast` (being written).
