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
//!
//! Each entry also documents its op, for `distillery explain NAME`: the formula in Unicode, the
//! VJP in words, and where the forward and the VJP live ([`Site`]: a file and a text that occurs
//! in it once, resolved to a line from the source compiled into the crate, so that the line
//! cannot go stale). A composite has no VJP of its own ([`Backward::Composite`]): the tape
//! differentiates the ops of its forward. `tests/op_table.rs` checks that every entry has all
//! of it and that every site resolves.

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

/// An entry: the op's name, its documentation, and how to draw an instance of it from a random
/// stream.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The name (`distillery explain NAME`, `distillery verify --only op/NAME`).
    pub name: &'static str,
    /// What the op computes and how it is differentiated.
    pub doc: Doc,
    /// Draws an instance from a random stream.
    pub draw: fn(&mut StdRng) -> Instance,
}

/// The documentation of an entry.
#[derive(Clone, Copy, Debug)]
pub struct Doc {
    /// The formula in Unicode, readable in a terminal.
    pub formula: &'static str,
    /// The VJP in words: the input cotangents given the output's cotangent `ȳ`.
    pub vjp: &'static str,
    /// Where the forward is computed.
    pub forward: Site,
    /// Where the VJP is, or that there is none of its own.
    pub backward: Backward,
}

/// How the gradient of an entry is computed.
#[derive(Clone, Copy, Debug)]
pub enum Backward {
    /// A primitive's VJP rule, at this site.
    Rule(Site),
    /// A composite of primitives: no rule of its own; the tape applies the VJPs of the ops its
    /// forward records.
    Composite,
}

/// A place in the engine's source: a file (from the workspace root) and a text that occurs in
/// it exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// E.g. `autograd/src/ops/unary.rs`.
    pub file: &'static str,
    /// A text that occurs once in the file, on the line meant.
    pub anchor: &'static str,
}

impl Site {
    /// The 1-based line of the anchor, from the source compiled into the crate; `None` when the
    /// file is not one of the engine's op files or the anchor does not occur exactly once.
    pub fn line(&self) -> Option<usize> {
        let (_, text) = SOURCES.iter().find(|(f, _)| *f == self.file)?;
        let mut hits = text.match_indices(self.anchor);
        let (at, _) = hits.next()?;
        if hits.next().is_some() {
            return None;
        }
        Some(text[..at].matches('\n').count() + 1)
    }
}

impl std::fmt::Display for Site {
    /// `file:line`, or `file (anchor not found: …)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line() {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => write!(f, "{} (anchor {:?} not found once)", self.file, self.anchor),
        }
    }
}

/// The op files whose lines [`Site::line`] resolves, compiled in.
const SOURCES: &[(&str, &str)] = &[
    ("autograd/src/ops/unary.rs", include_str!("../ops/unary.rs")),
    (
        "autograd/src/ops/binary.rs",
        include_str!("../ops/binary.rs"),
    ),
    (
        "autograd/src/ops/reduce.rs",
        include_str!("../ops/reduce.rs"),
    ),
    (
        "autograd/src/ops/movement.rs",
        include_str!("../ops/movement.rs"),
    ),
    ("autograd/src/ops/index.rs", include_str!("../ops/index.rs")),
    (
        "autograd/src/ops/linalg.rs",
        include_str!("../ops/linalg.rs"),
    ),
    ("autograd/src/ops/conv.rs", include_str!("../ops/conv.rs")),
    (
        "autograd/src/ops/softmax.rs",
        include_str!("../ops/softmax.rs"),
    ),
    (
        "autograd/src/functional/activation.rs",
        include_str!("../functional/activation.rs"),
    ),
    (
        "autograd/src/functional/indexing.rs",
        include_str!("../functional/indexing.rs"),
    ),
    (
        "autograd/src/functional/softmax.rs",
        include_str!("../functional/softmax.rs"),
    ),
    (
        "autograd/src/functional/loss.rs",
        include_str!("../functional/loss.rs"),
    ),
    (
        "autograd/src/functional/distribution.rs",
        include_str!("../functional/distribution.rs"),
    ),
];

/// The entry named `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.name == name)
}

fn op(
    f: impl for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>> + 'static,
) -> OpFn {
    Box::new(f)
}

fn inst(inputs: Vec<ArrayD<f64>>, f: OpFn) -> Instance {
    Instance { inputs, f }
}
