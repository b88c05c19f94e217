#![doc = include_str!("../README.md")]
//!
//! This crate re-exports the workspace crates, so that programs can depend on `distillery`
//! alone and write `use distillery::prelude::*`.
pub use autograd;
pub use methods;
pub use nn;

/// The names most programs need.
pub mod prelude {
    pub use autograd::prelude::*;
}
