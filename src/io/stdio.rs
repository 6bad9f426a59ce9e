//! `stdin`, `stdout`, `stderr` on the blocking pool (being written).
