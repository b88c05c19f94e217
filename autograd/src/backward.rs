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
//! the rules produce constants; each one's value is released as soon as the sweep has used it
//! (see `Release`), and the nodes are dropped from the tape once the gradients are read out.

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
        let mut release = Release::new(self.len(), !create_graph);
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
        let mut wanted = vec![false; n];
        for v in inputs.iter().filter(|v| v.id < n) {
            wanted[v.id] = true;
        }
        let needed = {
            let nodes = self.nodes.borrow();
            if let Some(index) = inputs.iter().position(|v| !nodes[v.id].requires_grad) {
                return Err(Error::NotDifferentiable { index });
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
        release.hold(seed.id);
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
            let mark = self.len();
            let input_grads = op.vjp(&Vjp {
                x: &xs,
                y,
                g,
                needs: &needs,
            })?;
            for ((&id, &need), dx) in ids.iter().zip(&needs).zip(input_grads) {
                if let (true, Some(dx)) = (need, dx) {
                    let sum = match grads[id] {
                        None => dx,
                        Some(acc) => {
                            let sum = acc.try_add(dx)?;
                            release.drop(self, acc.id);
                            sum
                        }
                    };
                    release.hold(sum.id);
                    grads[id] = Some(sum);
                }
            }
            if !wanted[i] {
                grads[i] = None;
                release.drop(self, g.id);
            }
            release.unheld_since(self, mark);
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

/// The release of a first-order sweep's spent cotangents. Without `create_graph` every node the
/// sweep appends is a constant that only the sweep can reach: a cotangent held in a slot of
/// `grads` (possibly several: an `add` passes one cotangent to both inputs), or a temporary of a
/// VJP rule, dead once the rule returns. So each node appended since `start` carries a count of
/// the slots holding it, and its value is released (the node stays, empty) when the count is 0
/// and the sweep has moved past the rule that made it. The values a sweep keeps alive are then
/// its live cotangents rather than all it ever computed; the forward values, below `start`, are
/// never touched. With `create_graph` nothing is released: the recorded gradients reference
/// their intermediates.
struct Release {
    start: usize,
    enabled: bool,
    /// Per node `start + k`, the number of `grads` slots holding it.
    held: Vec<u32>,
}

impl Release {
    fn new(start: usize, enabled: bool) -> Self {
        Release {
            start,
            enabled,
            held: Vec::new(),
        }
    }

    /// One more slot holds node `id`.
    fn hold(&mut self, id: usize) {
        if let Some(k) = id.checked_sub(self.start) {
            if self.held.len() <= k {
                self.held.resize(k + 1, 0);
            }
            self.held[k] += 1;
        }
    }

    /// One slot lets go of node `id`; its value is released when no slot holds it.
    fn drop<F: Float>(&mut self, tape: &Tape<F>, id: usize) {
        if let Some(k) = id.checked_sub(self.start) {
            self.held[k] -= 1;
            if self.held[k] == 0 && self.enabled {
                tape.release(id);
            }
        }
    }

    /// Releases every node appended since `mark` (and since `start`) that no slot holds.
    fn unheld_since<F: Float>(&mut self, tape: &Tape<F>, mark: usize) {
        if !self.enabled {
            return;
        }
        for id in mark.max(self.start)..tape.len() {
            if self.held.get(id - self.start).copied().unwrap_or(0) == 0 {
                tape.release(id);
            }
        }
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

#[cfg(test)]
mod tests {
    use ndarray::array;

    use crate::Tape;

    /// A first-order sweep keeps the values of the cotangents it returns and releases every
    /// other node it appended, and its gradients are the bits of the recorded sweep (which
    /// releases nothing), on a graph where one cotangent fills several slots: `x + x` (the
    /// add's cotangent passed to both of its inputs, then summed) and an intermediate `h` used
    /// three times.
    #[test]
    fn a_first_order_sweep_releases_its_spent_cotangents() {
        let tape = Tape::<f64>::new();
        let x = tape.param(array![0.3, -1.2, 2.0]);
        let w = tape.param(array![1.5, 0.5, -0.7]);
        let h = x.try_add(x).unwrap().try_mul(w).unwrap().tanh();
        let y = h.try_mul(h).unwrap().try_add(h.exp()).unwrap().sum();
        let seed = tape.scalar(1.0);
        let start = tape.len();
        let grads = tape.vjp(y, seed, &[x, w], false).unwrap();
        let mut returned: Vec<usize> = grads.iter().map(|g| g.id()).collect();
        returned.sort_unstable();
        returned.dedup();
        let kept: Vec<usize> = {
            let nodes = tape.nodes.borrow();
            (start..nodes.len())
                .filter(|&id| !nodes[id].value.is_empty())
                .collect()
        };
        assert!(
            tape.len() - start > 2 * kept.len(),
            "the sweep appended few nodes"
        );
        assert_eq!(kept, returned, "nodes of the sweep still holding a value");
        let recorded = tape.vjp(y, seed, &[x, w], true).unwrap();
        for (g, r) in grads.iter().zip(&recorded) {
            let bits = |v: &crate::Var<'_, f64>| v.value().iter().map(|e| e.to_bits()).collect();
            let (g, r): (Vec<u64>, Vec<u64>) = (bits(g), bits(r));
            assert_eq!(g, r);
        }
    }
}
