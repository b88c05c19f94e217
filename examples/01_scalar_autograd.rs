//! Example 1 — the gradient of a scalar expression, three ways: by the tape (reverse mode), by
//! hand (the chain rule on paper) and by central finite differences.
//!
//! ```sh
//! cargo run --release --example 01_scalar_autograd
//! ```
//!
//! `f(x, y) = tanh(x·y) + x²·e^{−y}` at `(x, y) = (0.7, −0.4)`. By hand:
//!
//! * `∂f/∂x = y·(1 − tanh²(xy)) + 2x·e^{−y}`
//! * `∂f/∂y = x·(1 − tanh²(xy)) − x²·e^{−y}`
//!
//! The tape records each op of the forward pass (printed below); `Tape::grad` walks it backwards,
//! multiplying the output's cotangent by each op's local derivative (its VJP,
//! `distillery explain NAME` shows one).

mod common;

use autograd::Tape;
use common::{Checks, Res};
use ndarray::arr0;

fn f_value(x: f64, y: f64) -> f64 {
    (x * y).tanh() + x * x * (-y).exp()
}

/// The example's body; `short` changes nothing here (it is already instant).
pub fn run(_short: bool) -> Res<()> {
    let (x0, y0) = (0.7, -0.4);
    let mut checks = Checks::new();

    // 1. the tape
    let tape = Tape::<f64>::new();
    let x = tape.param(arr0(x0));
    let y = tape.param(arr0(y0));
    let f = x.try_mul(y)?.tanh() + x.square().try_mul((-y).exp())?;
    println!("f(x, y) = tanh(x·y) + x²·e^(−y) at (x, y) = ({x0}, {y0})");
    println!("recorded ops: {:?}", tape.recorded_ops());
    let value = f.item().ok_or("f is a scalar")?;
    let g = tape.grad(f, &[x, y])?;
    let tape_grad = [g[0].sum(), g[1].sum()];

    // 2. by hand
    let t = (x0 * y0).tanh();
    let hand = [
        y0 * (1.0 - t * t) + 2.0 * x0 * (-y0).exp(),
        x0 * (1.0 - t * t) - x0 * x0 * (-y0).exp(),
    ];

    // 3. central differences
    let eps = 1e-6;
    let numeric = [
        (f_value(x0 + eps, y0) - f_value(x0 - eps, y0)) / (2.0 * eps),
        (f_value(x0, y0 + eps) - f_value(x0, y0 - eps)) / (2.0 * eps),
    ];

    println!("f = {value:.15}");
    println!(
        "{:<10} {:>22} {:>22} {:>22}",
        "", "tape", "by hand", "finite diff."
    );
    for (k, name) in ["∂f/∂x", "∂f/∂y"].iter().enumerate() {
        println!(
            "{name:<10} {:>22.15} {:>22.15} {:>22.15}",
            tape_grad[k], hand[k], numeric[k]
        );
    }
    checks.at_most(
        "f on the tape = f by hand",
        value - f_value(x0, y0),
        1e-15,
        "the same operations on O(1) numbers: a few ulps",
    );
    checks.at_most(
        "tape gradient = hand gradient",
        common::max_abs_diff(&tape_grad, &hand),
        1e-14,
        "the same formula evaluated in another order: a few ulps of O(1) terms",
    );
    checks.at_most(
        "tape gradient = finite differences",
        common::max_abs_diff(&tape_grad, &numeric),
        1e-8,
        "ε = 1e-6: truncation ε²/6·|f'''| ≈ 1e-13, rounding u·|f|/ε ≈ 1e-10",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
