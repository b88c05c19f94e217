//! The tape: an arena of nodes, and `Var`, a cheap handle to one node.
//!
//! Every op appends a node holding its output value, the op, and the indices of its inputs.
//! Nodes are only ever appended, so indices are a topological order and backward is a single
//! reverse sweep (no recursion: a chain of any depth cannot overflow the stack).
//!
//! A node *requires grad* when it is a parameter, or when it was produced by an op, while the
//! tape was recording, from at least one input that requires grad. Nodes that do not require grad
//! are stored as constants: value only, no op, no inputs. That one rule gives the no-grad mode
//! (recording off: everything built is a constant) and keeps data out of backward passes.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;

use ndarray::{ArcArray, Array, ArrayView, Dimension, IxDyn};

use crate::float::Float;
use crate::ops::{Op, OpKind};

/// The value type held by the tape: a reference-counted n-dimensional array. Cloning one is an
/// atomic increment, so putting a parameter on a tape or reading a value out copies nothing.
pub type Tensor<F> = ArcArray<F, IxDyn>;

/// Values that can be put on a tape. Owned and shared arrays move without copying; views are
/// copied.
pub trait IntoTensor<F: Float> {
    /// Converts into the tape's value type.
    fn into_tensor(self) -> Tensor<F>;
}

impl<F: Float, D: Dimension> IntoTensor<F> for Array<F, D> {
    fn into_tensor(self) -> Tensor<F> {
        self.into_dyn().into_shared()
    }
}

impl<F: Float, D: Dimension> IntoTensor<F> for ArcArray<F, D> {
    fn into_tensor(self) -> Tensor<F> {
        self.into_dyn()
    }
}

impl<F: Float, D: Dimension> IntoTensor<F> for ArrayView<'_, F, D> {
    fn into_tensor(self) -> Tensor<F> {
        self.to_owned().into_dyn().into_shared()
    }
}

impl<F: Float, D: Dimension> IntoTensor<F> for &Array<F, D> {
    fn into_tensor(self) -> Tensor<F> {
        self.view().into_tensor()
    }
}

/// The input indices of a node, stored inline for the common arities.
#[derive(Clone, Debug)]
pub(crate) enum Inputs {
    None,
    One([usize; 1]),
    Two([usize; 2]),
    Many(Box<[usize]>),
}

impl Inputs {
    fn from_vars<F: Float>(vars: &[Var<'_, F>]) -> Self {
        match vars {
            [] => Inputs::None,
            [a] => Inputs::One([a.id]),
            [a, b] => Inputs::Two([a.id, b.id]),
            _ => Inputs::Many(vars.iter().map(|v| v.id).collect()),
        }
    }

    pub(crate) fn as_slice(&self) -> &[usize] {
        match self {
            Inputs::None => &[],
            Inputs::One(ids) => ids,
            Inputs::Two(ids) => ids,
            Inputs::Many(ids) => ids,
        }
    }
}

pub(crate) struct Node<F: Float> {
    pub(crate) value: Tensor<F>,
    /// `None` for leaves: parameters and constants.
    pub(crate) op: Option<Op>,
    pub(crate) inputs: Inputs,
    pub(crate) requires_grad: bool,
}

/// A recording of a computation: the arena every `Var` points into.
///
/// A tape is cheap to create; the usual pattern is one tape per training step, dropped at the
/// end of the step. It is single-threaded (kernels inside ops use threads).
pub struct Tape<F: Float> {
    pub(crate) nodes: RefCell<Vec<Node<F>>>,
    recording: Cell<bool>,
}

/// Arenas of dropped tapes, kept for the next tape of this thread: a training loop builds one
/// tape per step, and an arena freed and reallocated every step would be unmapped and
/// page-faulted back in each time (glibc serves large blocks with mmap). Holds at most
/// [`arena_pool::POOLED_ARENAS`] arenas of at most [`arena_pool::POOLED_NODES`] nodes' capacity.
mod arena_pool {
    use super::*;

    pub(super) const POOLED_ARENAS: usize = 4;
    pub(super) const POOLED_NODES: usize = 1 << 20;

    thread_local! {
        static POOL: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty arena, recycled if one of this element type is pooled.
    pub(super) fn take<F: Float>() -> Vec<Node<F>> {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let found = pool.iter().position(|a| a.is::<Vec<Node<F>>>());
            found
                .and_then(|i| pool.swap_remove(i).downcast::<Vec<Node<F>>>().ok())
                .map_or_else(|| Vec::with_capacity(64), |arena| *arena)
        })
    }

    /// Returns an arena to the pool (emptied; its capacity is what is kept).
    pub(super) fn give<F: Float>(mut arena: Vec<Node<F>>) {
        arena.clear();
        if arena.capacity() > POOLED_NODES {
            return;
        }
        // `try_with`: during thread teardown the pool may already be gone; then just free.
        let _ = POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut() {
                if pool.len() < POOLED_ARENAS {
                    pool.push(Box::new(arena));
                }
            }
        });
    }
}

impl<F: Float> Drop for Tape<F> {
    fn drop(&mut self) {
        arena_pool::give(std::mem::take(self.nodes.get_mut()));
    }
}

impl<F: Float> Default for Tape<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> fmt::Debug for Tape<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tape")
            .field("elem", &F::NAME)
            .field("nodes", &self.len())
            .field("recording", &self.is_recording())
            .finish()
    }
}

impl<F: Float> Tape<F> {
    /// An empty tape, recording.
    pub fn new() -> Self {
        Tape {
            nodes: RefCell::new(arena_pool::take()),
            recording: Cell::new(true),
        }
    }

    /// A leaf that requires grad: a parameter to differentiate with respect to.
    pub fn param(&self, value: impl IntoTensor<F>) -> Var<'_, F> {
        self.push_leaf(value.into_tensor(), true)
    }

    /// A leaf that does not require grad: data, labels, fixed targets.
    pub fn constant(&self, value: impl IntoTensor<F>) -> Var<'_, F> {
        self.push_leaf(value.into_tensor(), false)
    }

    /// A 0-dimensional constant.
    pub fn scalar(&self, value: F) -> Var<'_, F> {
        self.constant(ndarray::arr0(value))
    }

    /// The number of nodes recorded so far.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether no node has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether ops currently record their inputs (so that they can be differentiated).
    pub fn is_recording(&self) -> bool {
        self.recording.get()
    }

    /// Stops recording until the returned guard is dropped: everything built meanwhile is a
    /// constant (like `torch.no_grad()`).
    pub fn no_grad(&self) -> RecordingGuard<'_, F> {
        RecordingGuard::set(self, false)
    }

    /// Runs `f` without recording (see [`Tape::no_grad`]).
    pub fn without_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.no_grad();
        f()
    }

    /// The kinds of the ops recorded on this tape, in order (constants and leaves are skipped).
    /// Used by the test that checks every op of the engine is covered by the gradient checks.
    pub fn recorded_ops(&self) -> Vec<OpKind> {
        self.nodes
            .borrow()
            .iter()
            .filter_map(|n| n.op.as_ref().map(Op::kind))
            .collect()
    }

    pub(crate) fn set_recording(&self, on: bool) -> bool {
        self.recording.replace(on)
    }

    fn push_leaf(&self, value: Tensor<F>, requires_grad: bool) -> Var<'_, F> {
        self.push_node(Node {
            value,
            op: None,
            inputs: Inputs::None,
            requires_grad,
        })
    }

    fn push_node(&self, node: Node<F>) -> Var<'_, F> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(node);
        Var {
            tape: self,
            id: nodes.len() - 1,
        }
    }

    /// Appends the result of `op` applied to `inputs`. The op and inputs are kept only if the
    /// result requires grad (see the module documentation).
    pub(crate) fn push_op<'t>(
        &'t self,
        op: Op,
        inputs: &[Var<'t, F>],
        value: impl IntoTensor<F>,
    ) -> Var<'t, F> {
        let value = value.into_tensor();
        let requires_grad = self.is_recording() && {
            let nodes = self.nodes.borrow();
            inputs.iter().any(|v| nodes[v.id].requires_grad)
        };
        let (op, inputs) = if requires_grad {
            (Some(op), Inputs::from_vars(inputs))
        } else {
            (None, Inputs::None)
        };
        self.push_node(Node {
            value,
            op,
            inputs,
            requires_grad,
        })
    }

    pub(crate) fn value_of(&self, id: usize) -> Tensor<F> {
        self.nodes.borrow()[id].value.clone()
    }

    /// Frees the value of node `id`, which nothing will read again (the node stays, holding
    /// an empty array): see `Release` in the backward sweep.
    pub(crate) fn release(&self, id: usize) {
        let mut nodes = self.nodes.borrow_mut();
        debug_assert!(
            nodes[id].op.is_none(),
            "only a constant's value is released"
        );
        nodes[id].value = Tensor::from_shape_vec(IxDyn(&[0]), Vec::new()).expect("empty");
    }

    pub(crate) fn truncate(&self, len: usize) {
        self.nodes.borrow_mut().truncate(len);
    }
}

/// Sets a tape's recording state and restores the previous one when dropped, also when a
/// computation fails half-way (see [`Tape::no_grad`]).
pub struct RecordingGuard<'t, F: Float> {
    tape: &'t Tape<F>,
    previous: bool,
}

impl<'t, F: Float> RecordingGuard<'t, F> {
    pub(crate) fn set(tape: &'t Tape<F>, on: bool) -> Self {
        RecordingGuard {
            tape,
            previous: tape.set_recording(on),
        }
    }
}

impl<F: Float> Drop for RecordingGuard<'_, F> {
    fn drop(&mut self) {
        self.tape.set_recording(self.previous);
    }
}

/// A variable: a handle to one node of a tape. `Copy`, two words: pass it by value.
///
/// The ops are methods, grouped by family in the `ops` and `functional` modules.
#[derive(Clone, Copy)]
pub struct Var<'t, F: Float> {
    pub(crate) tape: &'t Tape<F>,
    pub(crate) id: usize,
}

impl<F: Float> fmt::Debug for Var<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.value();
        f.debug_struct("Var")
            .field("id", &self.id)
            .field("shape", &value.shape())
            .field("requires_grad", &self.requires_grad())
            .field("value", &value)
            .finish()
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// The tape this variable lives on.
    pub fn tape(&self) -> &'t Tape<F> {
        self.tape
    }

    /// The node's position on the tape.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The value (a shared handle: no copy).
    pub fn value(&self) -> Tensor<F> {
        self.tape.value_of(self.id)
    }

    /// Runs `f` on the value without taking a handle to it. `f` must not touch the tape.
    pub(crate) fn with_value<R>(&self, f: impl FnOnce(&Tensor<F>) -> R) -> R {
        f(&self.tape.nodes.borrow()[self.id].value)
    }

    /// Whether both values have one shape (no allocation).
    pub(crate) fn same_shape(&self, other: &Var<'t, F>) -> bool {
        let nodes = self.tape.nodes.borrow();
        nodes[self.id].value.shape() == nodes[other.id].value.shape()
    }

    /// Whether the value has exactly this shape (no allocation).
    pub(crate) fn has_shape(&self, shape: &[usize]) -> bool {
        self.with_value(|v| v.shape() == shape)
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.tape.nodes.borrow()[self.id].value.shape().to_vec()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.tape.nodes.borrow()[self.id].value.ndim()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.tape.nodes.borrow()[self.id].value.len()
    }

    /// The single element of a one-element variable (a loss, say); `None` otherwise.
    pub fn item(&self) -> Option<F> {
        let nodes = self.tape.nodes.borrow();
        let v = &nodes[self.id].value;
        (v.len() == 1).then(|| *v.iter().next().expect("one element"))
    }

    /// Whether gradients flow into this variable.
    pub fn requires_grad(&self) -> bool {
        self.tape.nodes.borrow()[self.id].requires_grad
    }

    /// The same value as a constant: gradients stop here (`stop_gradient`, `.detach()`).
    pub fn detach(self) -> Var<'t, F> {
        self.tape.constant(self.value())
    }

    /// Checks that `other` lives on the same tape, for an op named `op`.
    pub(crate) fn same_tape(&self, other: &Var<'t, F>, op: &'static str) -> crate::Result<()> {
        if std::ptr::eq(self.tape, other.tape) {
            Ok(())
        } else {
            Err(crate::Error::DifferentTapes { op })
        }
    }
}
