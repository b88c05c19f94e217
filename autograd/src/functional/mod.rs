//! Composite ops.
