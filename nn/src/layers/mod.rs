//! Layers: each a [`Module`](crate::Module) with its forward formula in its doc comment.

mod activation;
mod conv;
mod dropout;
mod linear;
mod orthonormal;
mod sequential;
mod spectral;
mod variational;

pub use activation::Activation;
pub use conv::{Conv2d, Flatten, MaxPool2d};
pub use dropout::Dropout;
pub use linear::Linear;
pub use orthonormal::{bjorck, bjorck_residual, OrthonormalLinear, DEFAULT_BJORCK_ITERATIONS};
pub use sequential::{mlp, Sequential};
pub use spectral::SpectralNormLinear;
pub use variational::{GaussianParam, VariationalLinear};
