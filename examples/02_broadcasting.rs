//! Example 2 — broadcasting, and why the gradient of a broadcast input is a sum.
//!
//! ```sh
//! cargo run --release --example 02_broadcasting
//! ```
//!
//! `c = a + b` with `a: [2, 3]` and `b: [3]` adds `b` to every row of `a` (NumPy's rules:
//! align the shapes on the right, stretch size-1 or missing axes). With `L = Σ_ij w_ij c_ij`,
//! `∂L/∂a = w` (same shape) but `∂L/∂b_j = Σ_i w_ij`: `b_j` was used once per row, so its
//! gradient sums the row gradients. The VJP of `add` does that reduction (`sum_to` the input's
//! shape). Likewise for an outer product `u: [2, 1] · v: [1, 3]`: `∂L/∂u_i = Σ_j w_ij v_j`.
//!
//! Every value here is a small dyadic fraction, so every sum is exact in `f64` and the checks
//! ask for equality.

mod common;

use autograd::Tape;
use common::{Checks, Res};
use ndarray::{array, Axis};

/// The example's body; `short` changes nothing here (it is already instant).
pub fn run(_short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let tape = Tape::<f64>::new();
    let a = tape.param(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let b = tape.param(array![0.5, -0.25, 0.125]);
    let w = array![[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]];
    let c = a.try_add(b)?;
    println!(
        "a: {:?} + b: {:?} → c: {:?}",
        a.shape(),
        b.shape(),
        c.shape()
    );
    println!("c =\n{}", c.value());
    let loss = c.try_mul(tape.constant(w.clone()))?.sum();
    let g = tape.grad(loss, &[a, b])?;
    println!("∂L/∂a (shape {:?}) =\n{}", g[0].shape(), g[0]);
    println!("∂L/∂b (shape {:?}) = {}", g[1].shape(), g[1]);
    let hand_b = w.sum_axis(Axis(0));
    checks.at_most(
        "∂L/∂a = w",
        common::max_abs_diff(g[0].iter(), w.iter()),
        0.0,
        "exact: dyadic values",
    );
    checks.at_most(
        "∂L/∂b = Σ_i w_i· (the broadcast gradient summed over the stretched axis)",
        common::max_abs_diff(g[1].iter(), hand_b.iter()),
        0.0,
        "exact: sums of dyadic values",
    );
    checks.holds(
        "each gradient has its input's shape",
        g[0].shape() == [2, 3] && g[1].shape() == [3],
        "the VJP reduces to the input's shape",
    );

    // an outer product by broadcasting: u [2, 1] times v [1, 3]
    let tape = Tape::<f64>::new();
    let u = tape.param(array![[2.0], [-0.5]]);
    let v = tape.param(array![[1.0, 0.5, -4.0]]);
    let outer = u.try_mul(v)?;
    let loss = outer.try_mul(tape.constant(w.clone()))?.sum();
    let g = tape.grad(loss, &[u, v])?;
    println!("u: [2, 1] · v: [1, 3] → {:?}", outer.shape());
    println!("∂L/∂u = {} ∂L/∂v = {}", g[0], g[1]);
    let u0 = array![[2.0], [-0.5]];
    let v0 = array![[1.0, 0.5, -4.0]];
    let hand_u = (&w * &v0).sum_axis(Axis(1)).insert_axis(Axis(1));
    let hand_v = (&w * &u0).sum_axis(Axis(0)).insert_axis(Axis(0));
    checks.at_most(
        "∂L/∂u_i = Σ_j w_ij v_j",
        common::max_abs_diff(g[0].iter(), hand_u.iter()),
        0.0,
        "exact: dyadic values",
    );
    checks.at_most(
        "∂L/∂v_j = Σ_i w_ij u_i",
        common::max_abs_diff(g[1].iter(), hand_v.iter()),
        0.0,
        "exact: dyadic values",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
