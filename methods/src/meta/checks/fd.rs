//! Finite-difference hypergradients: the reference (central differences of the whole function `$a
//! \mapsto L_{\mathrm{val}}(U^k(w, \lambda(a)))$`), and the authors' estimate (a DARTS-style finite
//! difference of the mixed second derivative only), with or without their precedence slip.

use autograd::Tape;
use nn::Module;

use crate::meta::hypergrad::{leaves, unrolled_val_loss, LowerLevel, OnTape, TrainBatch, ValBatch};
use crate::meta::metaparams::MetaParams;
use crate::meta::step::{InnerOptimizer, InnerState};
use crate::Result;

/// The central difference of `$L_{\mathrm{val}}(U^k(w, \lambda(a)))$` in each coordinate of `a`:
///
/// `$h_i \approx(F(a + \varepsilon e_i) - F(a - \varepsilon e_i)) / (2\varepsilon)$`, `$F(a) =
/// L_{\mathrm{val}}(U^k(w, \lambda(a)))$`
///
/// ([`unrolled_val_loss`], `k = train.len()`), `$\varepsilon$` = `step`. Six evaluations of `F`.
/// Its error is `$\varepsilon^{2}/6 |F'''|$` (truncation) plus `$u\cdot|F|/\varepsilon$` (rounding,
/// `u` the unit round-off).
pub fn central_difference_hypergradient(
    model: &dyn Module<f64>,
    meta: &MetaParams,
    lower: &LowerLevel,
    state: &InnerState<f64>,
    train: &[TrainBatch<f64>],
    val: &ValBatch<f64>,
    step: f64,
) -> Result<[f64; 3]> {
    let mut out = [0.0; 3];
    for (i, slot) in out.iter_mut().enumerate() {
        let at = |shift: f64| {
            let mut raw = meta.raw;
            raw[i] += shift;
            unrolled_val_loss(model, &meta.with_raw(raw), lower, state, train, val)
        };
        *slot = (at(step)? - at(-step)?) / (2.0 * step);
    }
    Ok(out)
}

/// How the authors' estimate divides the difference of the two gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdFormula {
    /// `$(p - n) / (2\varepsilon)$`: the central difference as intended.
    Central,
    /// `$(p - n) / 2 \cdot \varepsilon$`: the authors' line `(p-n) / 2.*eps`, which Python reads as
    /// `$((p - n) / 2) \cdot \varepsilon$` (inherited from a public DARTS implementation). It is
    /// the intended value times `$\varepsilon^{2}$`.
    PrecedenceSlip,
}

/// The authors' hypergradient (their `AdamHyperGradCalculator`, after DARTS), one step:
///
/// ```text
/// w' = U(w, λ)                       the virtual step (SGD or Adam, as `lower.optimizer`)
/// d  = ∇_{w'} L_val(w')
/// ε  = 0.01 / ‖d‖
/// p  = ∇_a L_train(w + ε d, λ),   n = ∇_a L_train(w − ε d, λ)
/// H  = (p − n) / (2ε)             (FdFormula::Central)  or  (p − n)/2 · ε  (PrecedenceSlip)
/// h  = −γ H                        γ = the optimiser's learning rate (Adam's η too)
/// ```
///
/// For SGD with [`FdFormula::Central`] this approximates the exact greedy hypergradient (the chain
/// rule gives `$h = -\gamma(\partial^{2}L_{\mathrm{train}}/\partial a\partial w) d$`, and `H` is a
/// central difference of `$(\partial^{2}L_{\mathrm{train}}/\partial a\partial w) d$` along `d`,
/// error `$O(\varepsilon^{2})$`). For Adam it is not the hypergradient of the Adam step: it leaves
/// out the Jacobian of `$\hat{m} / (\sqrt{\hat{v}} + \varepsilon_{\mathrm{Adam}})$`. Symbols →
/// arguments as in [`crate::meta::hypergradient`], with `batch` the one training batch.
pub fn authors_fd_hypergradient(
    model: &dyn Module<f64>,
    meta: &MetaParams,
    lower: &LowerLevel,
    state: &InnerState<f64>,
    batch: &TrainBatch<f64>,
    val: &ValBatch<f64>,
    formula: FdFormula,
) -> Result<[f64; 3]> {
    // w' and d = ∇_{w'} L_val(w')
    let (w, d) = {
        let tape = Tape::<f64>::new();
        let on = OnTape::new(&tape, model, meta, lower, false)?;
        let (ws, mut tape_state) = leaves(&tape, model, state);
        let w: Vec<_> = ws.iter().map(|v| v.value()).collect();
        let stepped = on.unroll(&mut tape_state, ws, std::slice::from_ref(batch), false)?;
        let w_prime: Vec<_> = stepped.iter().map(|v| tape.param(v.value())).collect();
        let loss = on.val_loss(&w_prime, val)?;
        (w, tape.grad(loss, &w_prime)?)
    };
    let norm = d
        .iter()
        .flat_map(|g| g.iter())
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt();
    let eps = 0.01 / norm;
    // ∇_a L_train(w + s d, λ)
    let grad_at = |s: f64| -> Result<Vec<f64>> {
        let tape = Tape::<f64>::new();
        let on = OnTape::new(&tape, model, meta, lower, true)?;
        let ws: Vec<_> = w
            .iter()
            .zip(&d)
            .map(|(wi, di)| {
                let mut shifted = wi.to_owned();
                shifted.scaled_add(s, di);
                tape.constant(shifted)
            })
            .collect();
        let loss = on.train_loss(&ws, batch)?;
        Ok(tape.grad(loss, &[on.meta.raw])?[0]
            .iter()
            .copied()
            .collect())
    };
    let (p, n) = (grad_at(eps)?, grad_at(-eps)?);
    let lr = match lower.optimizer {
        InnerOptimizer::Sgd { lr } => lr,
        InnerOptimizer::Adam(c) => c.lr,
    };
    let mut out = [0.0; 3];
    for i in 0..3 {
        let hessian = match formula {
            FdFormula::Central => (p[i] - n[i]) / (2.0 * eps),
            FdFormula::PrecedenceSlip => (p[i] - n[i]) / 2.0 * eps,
        };
        out[i] = -lr * hessian;
    }
    Ok(out)
}
