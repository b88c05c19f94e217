//! Example 3 — second order: a Hessian-vector product, a full small Hessian against the hand
//! formula, and differentiation through one SGD step.
//!
//! ```sh
//! cargo run --release --example 03_second_order
//! ```
//!
//! `f(x) = Σ_i softplus(a_iᵀ x) + (λ/2)‖x‖²` for `x ∈ ℝ³` and five rows `a_i` of `A`. By hand,
//! `∇f = Aᵀ σ(Ax) + λx` and `H = Aᵀ diag(σ(Ax)(1 − σ(Ax))) A + λI`.
//!
//! `Tape::grad_graph` records the backward pass on the tape, so the gradient is itself a
//! function on the tape and can be differentiated again: `Tape::hvp` gives `H v` exactly (no
//! finite difference), and three of them, one per basis vector, give `H`.
//!
//! Through one SGD step: `w₁ = w₀ − η ∇L_tr(w₀)`, then `L_val(w₁)`. By hand,
//! `dL_val(w₁)/dη = −∇L_val(w₁)·∇L_tr(w₀)` and `∂L_val(w₁)/∂w₀ = (I − η H_tr(w₀)) ∇L_val(w₁)`.
//! The tape gets both by differentiating through the step (the hypergradient of example 8).

mod common;

use autograd::{Tape, Var};
use common::{Checks, Res};
use ndarray::{array, Array1, Array2, Axis};

const LAMBDA: f64 = 0.1;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `f(x)` on the tape, `x` a `[3, 1]` column.
fn f<'t>(a: &Array2<f64>, x: Var<'t, f64>) -> Res<Var<'t, f64>> {
    let z = x.tape().constant(a.clone()).matmul(x)?;
    Ok(z.softplus().sum() + x.square().sum().mul_scalar(LAMBDA / 2.0))
}

/// `(∇f, H)` by the hand formulas.
fn by_hand(a: &Array2<f64>, x: &Array1<f64>) -> (Array1<f64>, Array2<f64>) {
    let s = a.dot(x).mapv(sigmoid);
    let grad = a.t().dot(&s) + x * LAMBDA;
    let d = s.mapv(|s| s * (1.0 - s));
    let h = a.t().dot(&(a * &d.insert_axis(Axis(1)))) + Array2::<f64>::eye(3) * LAMBDA;
    (grad, h)
}

/// The example's body; `short` changes nothing here (it is already instant).
pub fn run(_short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let a = array![
        [1.0, -0.5, 0.3],
        [0.2, 0.8, -1.1],
        [-0.7, 0.4, 0.9],
        [1.3, 0.1, -0.2],
        [0.0, -1.2, 0.6]
    ];
    let x0 = array![0.4, -0.3, 0.8];
    let (grad_hand, h_hand) = by_hand(&a, &x0);

    // Hessian-vector product and the full Hessian, one HVP per basis vector
    let tape = Tape::<f64>::new();
    let x = tape.param(x0.clone().insert_axis(Axis(1)));
    let fx = f(&a, x)?;
    let v = array![1.0, 2.0, -1.0];
    let hv = tape.hvp(
        fx,
        &[x],
        &[v.clone().insert_axis(Axis(1)).into_dyn().into_shared()],
    )?;
    let hv_hand = h_hand.dot(&v);
    println!(
        "H v  by the tape: {}",
        hv[0]
            .iter()
            .map(|e| format!("{e:.12}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "H v  by hand:     {}",
        hv_hand
            .iter()
            .map(|e| format!("{e:.12}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    checks.at_most(
        "Hessian-vector product = H v by hand",
        common::max_abs_diff(hv[0].iter(), hv_hand.iter()),
        1e-13,
        "sums of five O(1) products: a few ulps",
    );
    let mut h_tape = Array2::<f64>::zeros((3, 3));
    for j in 0..3 {
        let mut e = Array2::<f64>::zeros((3, 1));
        e[(j, 0)] = 1.0;
        let col = tape.hvp(fx, &[x], &[e.into_dyn().into_shared()])?;
        for i in 0..3 {
            h_tape[(i, j)] = col[0][[i, 0]];
        }
    }
    println!("H by the tape (one HVP per column):\n{h_tape:.9}");
    println!("H by hand, Aᵀ diag(σ(1−σ)) A + λI:\n{h_hand:.9}");
    checks.at_most(
        "full Hessian = hand formula",
        common::max_abs_diff(h_tape.iter(), h_hand.iter()),
        1e-13,
        "sums of five O(1) products: a few ulps",
    );
    let g = tape.grad(fx, &[x])?;
    checks.at_most(
        "gradient = Aᵀσ(Ax) + λx",
        common::max_abs_diff(g[0].iter(), grad_hand.iter()),
        1e-13,
        "a few ulps",
    );

    // differentiating through one SGD step
    let a_val = array![[0.5, 1.0, -0.4], [-1.0, 0.3, 0.7]];
    let eta0 = 0.3;
    let tape = Tape::<f64>::new();
    let w0 = tape.param(x0.clone().insert_axis(Axis(1)));
    let eta = tape.param(ndarray::arr0(eta0));
    let g_tr = tape.grad_graph(f(&a, w0)?, &[w0])?.remove(0);
    let w1 = w0.try_sub(g_tr.try_mul(eta)?)?;
    let l_val = f(&a_val, w1)?;
    let d = tape.grad(l_val, &[eta, w0])?;
    let w1_hand = &x0 - &(&grad_hand * eta0);
    let (g_val_hand, _) = by_hand(&a_val, &w1_hand);
    let d_eta_hand = -g_val_hand.dot(&grad_hand);
    let d_w0_hand = (Array2::<f64>::eye(3) - &h_hand * eta0).dot(&g_val_hand);
    println!(
        "dL_val/dη: tape {:.12}, by hand −∇L_val(w₁)·∇L_tr(w₀) = {d_eta_hand:.12}",
        d[0].sum()
    );
    println!(
        "∂L_val/∂w₀: tape {:?}, by hand (I − ηH)∇L_val(w₁) = {:?}",
        d[1].iter()
            .map(|e| (e * 1e9).round() / 1e9)
            .collect::<Vec<_>>(),
        d_w0_hand
            .iter()
            .map(|e| (e * 1e9).round() / 1e9)
            .collect::<Vec<_>>()
    );
    checks.at_most(
        "dL_val/dη through the step = hand formula",
        d[0].sum() - d_eta_hand,
        1e-13,
        "a few ulps",
    );
    checks.at_most(
        "∂L_val/∂w₀ through the step = (I − ηH)∇L_val(w₁)",
        common::max_abs_diff(d[1].iter(), d_w0_hand.iter()),
        1e-13,
        "a few ulps",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
