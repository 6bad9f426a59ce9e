//! Async locks and once-cells (being written).
