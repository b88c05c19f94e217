//! distillery: knowledge transfer from first principles.
//!
//! Re-exports the workspace crates so that users write `use distillery::prelude::*`.
pub use autograd;
pub use methods;
pub use nn;

/// The names most programs need.
pub mod prelude {
    pub use autograd::prelude::*;
}
