//! # autograd
//!
//! Reverse-mode automatic differentiation over `ndarray`, written so that gradients can be
//! differentiated again.
//!
//! * A [`Tape`] records a computation; a [`Var`] is a `Copy` handle to one of its values.
//! * Each primitive op (module [`ops`]) has its forward and its vector-Jacobian product side by
//!   side, and every VJP is written with the tape's own ops. So [`Tape::grad`] (first order,
//!   nothing recorded), [`Tape::grad_graph`] (recorded, `create_graph`), [`Tape::hvp`] and
//!   [`Tape::jvp`] share one code path, at any order.
//! * Softmax, cross-entropy, KL divergences, pooling, sorting and the rest are composites of the
//!   primitives ([`functional`]): their gradients are right by construction.
//! * [`gradcheck()`] and [`gradgradcheck()`] compare analytic gradients with central finite
//!   differences in `f64`.
//!
//! ```
//! use autograd::prelude::*;
//! use ndarray::array;
//!
//! let tape = Tape::<f64>::new();
//! let w = tape.param(array![[1.0, 2.0], [3.0, 4.0]]);
//! let x = tape.constant(array![[0.5, -1.0]]);
//! let loss = x.matmul(w)?.tanh().powf(2.0).mean();
//! let grads = tape.grad(loss, &[w])?;          // first order, as arrays
//! let g = tape.grad_graph(loss, &[w])?;        // recorded: differentiable again
//! let curvature = g[0].powf(2.0).sum();        // ‖∇L‖², differentiated below
//! let second = tape.grad(curvature, &[w])?;
//! assert_eq!(grads[0].shape(), second[0].shape());
//! # Ok::<(), autograd::Error>(())
//! ```

mod backward;
pub mod error;
pub mod float;
pub mod functional;
pub mod gradcheck;
pub mod kernels;
pub mod op_table;
pub mod ops;
pub mod tape;

pub use error::{Error, Result};
pub use float::Float;
pub use gradcheck::{gradcheck, gradgradcheck, GradCheckReport, Tolerance};

pub use ops::{Conv2dGeometry, OpKind};
pub use tape::{IntoTensor, RecordingGuard, Tape, Tensor, Var};

/// The names most programs need: `use autograd::prelude::*;`.
pub mod prelude {
    pub use crate::{
        gradcheck, gradgradcheck, Conv2dGeometry, Error, Float, GradCheckReport, Tape, Tensor,
        Tolerance, Var,
    };
}
