//! The errors of the engine. Shape errors name the op and the shapes involved.

use std::fmt;

/// A shape as printed in messages: `[2, 3]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl From<&[usize]> for Shape {
    fn from(s: &[usize]) -> Self {
        Shape(s.to_vec())
    }
}

/// Everything that can go wrong when building or differentiating a graph.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input shapes of an op do not fit together.
    #[error("{op}: {reason} (shapes {})", shapes_list(.shapes))]
    Shape {
        /// The op that was called, e.g. `"matmul"`.
        op: &'static str,
        /// The shapes of its inputs, in argument order.
        shapes: Vec<Shape>,
        /// What does not fit, e.g. `"inner dimensions differ: 3 vs 4"`.
        reason: String,
    },
    /// An argument other than a shape is out of its domain (an axis, an index, a size).
    #[error("{op}: {reason}")]
    Argument {
        /// The op that was called.
        op: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// Two variables of one op live on different tapes.
    #[error("{op}: the inputs belong to different tapes; build the whole computation on one tape")]
    DifferentTapes {
        /// The op that was called.
        op: &'static str,
    },
    /// `grad` of a non-scalar output without a seed (output cotangent).
    #[error(
        "grad: the output has shape {shape} but only a scalar (one-element) output has an implicit \
         seed; reduce it first (e.g. `.sum()`) or pass a seed of the output's shape"
    )]
    NonScalarOutput {
        /// The shape of the output.
        shape: Shape,
    },
    /// `grad` with respect to a variable that is a constant.
    #[error(
        "grad: input {index} of the list is a constant, which has no gradient; create it with \
         `tape.param(...)` to differentiate with respect to it"
    )]
    NotDifferentiable {
        /// Position of the offending variable in the list passed to `grad`.
        index: usize,
    },
}

fn shapes_list(shapes: &[Shape]) -> String {
    shapes
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// A shape error of `op` over `shapes`.
    pub(crate) fn shape(op: &'static str, shapes: &[&[usize]], reason: impl Into<String>) -> Self {
        Error::Shape {
            op,
            shapes: shapes.iter().map(|s| Shape::from(*s)).collect(),
            reason: reason.into(),
        }
    }

    /// An argument error of `op`.
    pub(crate) fn argument(op: &'static str, reason: impl Into<String>) -> Self {
        Error::Argument {
            op,
            reason: reason.into(),
        }
    }
}

/// The result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
