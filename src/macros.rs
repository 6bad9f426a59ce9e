//! Declarative macros (being written).
