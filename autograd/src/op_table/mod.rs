//! The table of every op of the engine, primitive or composite, for the gradient checks (in the
//! manner of JAX's `LAX_GRAD_OPS` and PyTorch's `OpInfo`): `autograd/tests/op_table.rs` drives
//! property tests over it at first and second order, and `distillery verify` checks one seeded
//! instance of each entry.
//!
//! Each entry draws, from a random stream, an instance of its op: random shapes (broadcasting
//! shapes and size-1 axes included), random op parameters (axes, indices, strides, ...) and
//! random values inside the op's domain. Values are kept away from kinks and ties by a margin
//! much larger than the finite-difference step, so the op is smooth within `±ε` of every point
//! checked. Every primitive of [`OpKind::ALL`](crate::OpKind::ALL) must be exercised by some
//! entry; the tests check it.

mod entries;
pub mod values;

use ndarray::ArrayD;
use rand::rngs::StdRng;

use crate::{Result, Tape, Var};

pub use entries::TABLE;

/// A function of the checked inputs.
pub type OpFn = Box<dyn for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>>;

/// One drawn instance of an op: the inputs and the function of them to check.
pub struct Instance {
    /// The inputs, each checked element by element.
    pub inputs: Vec<ArrayD<f64>>,
    /// The op applied to them.
    pub f: OpFn,
}

/// An entry: the op's name and how to draw an instance of it from a random stream.
pub type Entry = (&'static str, fn(&mut StdRng) -> Instance);

fn op(
    f: impl for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>> + 'static,
) -> OpFn {
    Box::new(f)
}

fn inst(inputs: Vec<ArrayD<f64>>, f: OpFn) -> Instance {
    Instance { inputs, f }
}
