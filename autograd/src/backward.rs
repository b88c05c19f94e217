//! Reverse-mode differentiation: one reverse sweep over the tape.
//!
//! For an output `y` and a seed `ȳ` (1 for a scalar loss), the sweep visits nodes from `y` down
//! and, for each node `v` with cotangent `v̄`, adds `VJP_v(v̄)` into the cotangents of its inputs
//! — the chain rule `x̄ = Σ_{v uses x} (∂v/∂x)ᵀ v̄`. Only nodes on a path from a requested input
//! to `y` are visited.
//!
//! The VJP rules are built from tape ops. With `create_graph` they are recorded, so the
//! gradients are variables that can be differentiated again (Hessian-vector products,
//! hypergradients through an optimiser step, gradient penalties). Without it, recording is off:
//! the rules produce constants, which are dropped from the tape once the gradients are read out.

use ndarray::{ArrayD, IxDyn};

use crate::float::Float;
use crate::ops::Vjp;
use crate::tape::{RecordingGuard, Tape, Tensor, Var};
use crate::{Error, Result};

impl<F: Float> Tape<F> {
    /// The gradients of a one-element `output` with respect to `inputs`, as arrays. First order,
    /// nothing recorded: the tape is left as it was. An input that `output` does not depend on
    /// gets zeros.
    pub fn grad<'t>(&'t self, output: Var<'t, F>, inputs: &[Var<'t, F>]) -> Result<Vec<Tensor<F>>> {
        let len = self.len();
        let result = self
            .backward(output, None, inputs, false)
            .map(|grads| grads.iter().map(Var::value).collect());
        self.truncate(len);
        result
    }

    /// The gradients of a one-element `output` with respect to `inputs`, recorded on the tape
    /// (`create_graph=True`): they are variables that can be differentiated again.
    pub fn grad_graph<'t>(
        &'t self,
        output: Var<'t, F>,
        inputs: &[Var<'t, F>],
    ) -> Result<Vec<Var<'t, F>>> {
        self.backward(output, None, inputs, true)
    }

    /// The vector-Jacobian product `Jᵀ·seed` of `output` (any shape) with respect to `inputs`,
    /// where `seed` has the shape of `output`. With `create_graph` the result is recorded.
    pub fn vjp<'t>(
        &'t self,
        output: Var<'t, F>,
        seed: Var<'t, F>,
        inputs: &[Var<'t, F>],
        create_graph: bool,
    ) -> Result<Vec<Var<'t, F>>> {
        self.backward(output, Some(seed), inputs, create_graph)
    }

    /// The Hessian-vector product `H·v` of a one-element `output` with respect to `params`, for
    /// a direction `v` given per parameter: `∇_p ⟨∇_p output, v⟩`, by differentiating the
    /// recorded gradient once more (exact, no finite differences).
    pub fn hvp<'t>(
        &'t self,
        output: Var<'t, F>,
        params: &[Var<'t, F>],
        v: &[Tensor<F>],
    ) -> Result<Vec<Tensor<F>>> {
        check_directions("hvp", params, v)?;
        let len = self.len();
        let result = self.grad_graph(output, params).and_then(|g| {
            let dot = self.inner_product(&g, v)?;
            self.grad(dot, params)
        });
        self.truncate(len);
        result
    }

    /// The Jacobian-vector product `J·v` of `output` with respect to `inputs`, for tangents `v`
    /// given per input, by the double-VJP trick: `g(u) = Jᵀu` is linear in a dummy cotangent
    /// `u`, so `∇_u ⟨g(u), v⟩ = J v`. Costs two backward passes; exact.
    pub fn jvp<'t>(
        &'t self,
        output: Var<'t, F>,
        inputs: &[Var<'t, F>],
        v: &[Tensor<F>],
    ) -> Result<Tensor<F>> {
        check_directions("jvp", inputs, v)?;
        let len = self.len();
        let result = (|| {
            let u = self.param(ArrayD::<F>::zeros(IxDyn(&output.shape())));
            let g = self.vjp(output, u, inputs, true)?;
            let dot = self.inner_product(&g, v)?;
            Ok(self.grad(dot, &[u])?.remove(0))
        })();
        self.truncate(len);
        result
    }

    /// `Σ_i ⟨a_i, b_i⟩` as a recorded scalar.
    fn inner_product<'t>(&'t self, a: &[Var<'t, F>], b: &[Tensor<F>]) -> Result<Var<'t, F>> {
        let mut total = self.scalar(F::zero());
        for (ai, bi) in a.iter().zip(b) {
            total = total.try_add(ai.try_mul(self.constant(bi.clone()))?.sum())?;
        }
        Ok(total)
    }

    /// The reverse sweep shared by every entry point above.
    fn backward<'t>(
        &'t self,
        output: Var<'t, F>,
        seed: Option<Var<'t, F>>,
        inputs: &[Var<'t, F>],
        create_graph: bool,
    ) -> Result<Vec<Var<'t, F>>> {
        for v in inputs.iter().chain(seed.as_ref()) {
            output.same_tape(v, "grad")?;
        }
        let seed = match seed {
            Some(s) if s.shape() != output.shape() => {
                return Err(Error::shape(
                    "grad",
                    &[&output.shape(), &s.shape()],
                    "the seed must have the output's shape",
                ))
            }
            Some(s) => s,
            None if output.numel() == 1 => self.constant(ArrayD::<F>::ones(IxDyn(&output.shape()))),
            None => {
                return Err(Error::NonScalarOutput {
                    shape: output.shape().as_slice().into(),
                })
            }
        };
        let n = output.id + 1;
        let needed = {
            let nodes = self.nodes.borrow();
            if let Some(index) = inputs.iter().position(|v| !nodes[v.id].requires_grad) {
                return Err(Error::NotDifferentiable { index });
            }
            let mut wanted = vec![false; n];
            for v in inputs.iter().filter(|v| v.id < n) {
                wanted[v.id] = true;
            }
            // needed[i]: gradient flows through node i to a requested input
            let mut needed = vec![false; n];
            for (i, node) in nodes[..n].iter().enumerate() {
                needed[i] = node.requires_grad
                    && (wanted[i] || node.inputs.as_slice().iter().any(|&j| needed[j]));
            }
            needed
        };

        let _recording = RecordingGuard::set(self, create_graph);
        let mut grads: Vec<Option<Var<'t, F>>> = vec![None; n];
        grads[output.id] = Some(seed);
        let mut xs = Vec::new();
        let mut needs = Vec::new();
        for i in (0..n).rev() {
            let Some(g) = grads[i] else { continue };
            if !needed[i] {
                continue;
            }
            let (op, input_ids) = {
                let nodes = self.nodes.borrow();
                match &nodes[i].op {
                    Some(op) => (op.clone(), nodes[i].inputs.clone()),
                    None => continue,
                }
            };
            let ids = input_ids.as_slice();
            xs.clear();
            xs.extend(ids.iter().map(|&id| Var { tape: self, id }));
            needs.clear();
            needs.extend(ids.iter().map(|&id| needed[id]));
            let y = Var { tape: self, id: i };
            let input_grads = op.vjp(&Vjp {
                x: &xs,
                y,
                g,
                needs: &needs,
            })?;
            for ((&id, &need), dx) in ids.iter().zip(&needs).zip(input_grads) {
                if let (true, Some(dx)) = (need, dx) {
                    grads[id] = Some(match grads[id] {
                        None => dx,
                        Some(acc) => acc.try_add(dx)?,
                    });
                }
            }
        }
        Ok(inputs
            .iter()
            .map(|v| match grads.get(v.id).copied().flatten() {
                Some(g) => g,
                None => self.constant(ArrayD::<F>::zeros(IxDyn(&v.shape()))),
            })
            .collect())
    }
}

fn check_directions<F: Float>(
    op: &'static str,
    vars: &[Var<'_, F>],
    v: &[Tensor<F>],
) -> Result<()> {
    if vars.len() != v.len() {
        return Err(Error::argument(
            op,
            format!("{} variables but {} directions", vars.len(), v.len()),
        ));
    }
    for (x, d) in vars.iter().zip(v) {
        if x.shape() != d.shape() {
            return Err(Error::shape(
                op,
                &[&x.shape(), d.shape()],
                "each direction must have its variable's shape",
            ));
        }
    }
    Ok(())
}
