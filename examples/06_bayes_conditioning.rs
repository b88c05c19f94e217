//! Example 6 — the step of Bayesian distillation that turns a teacher's posterior into a
//! student's prior: Gaussian conditioning, on a 3-parameter Gaussian, by hand and by the library.
//!
//! ```sh
//! cargo run --release --example 06_bayes_conditioning
//! ```
//!
//! The teacher's weights `u = (u₁, u₂, u₃)` have the posterior `N(m, Σ)` (in the method, a
//! Laplace approximation at the trained teacher). A student without the third weight — a removed
//! neuron sets its weights to 0 — gets as its prior the conditional of the kept weights given
//! `u₃ = 0`:
//!
//! `u' | u₃ = a ~ N(m' + Σ'₃ Σ₃₃⁻¹ (a − m₃), Σ' − Σ'₃ Σ₃₃⁻¹ Σ₃')`
//!
//! (`'` = the kept coordinates 1, 2). In precision form (`Λ = Σ⁻¹`), the same conditional has
//! the precision `Λ'` — the kept block, nothing to compute — and the mean
//! `m' − Λ'⁻¹ Λ'₃ (a − m₃)`. The library (`methods::bayes::gaussian::condition`) works in either
//! form; conditioning on `u₃` and then on `u₂` equals conditioning on both at once.

mod common;

use common::{Checks, Res};
use faer::Mat;
use methods::bayes::gaussian::{condition, DenseGaussian, Form};
use methods::bayes::linalg::Jitter;
use ndarray::{array, Array1, Array2};

fn to_array(m: &Mat<f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// The example's body; `short` changes nothing here (it is already instant).
pub fn run(_short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let m = array![0.8, -0.5, 1.2];
    let sigma = array![[1.0, 0.3, 0.6], [0.3, 0.5, -0.2], [0.6, -0.2, 0.9]];
    println!("teacher posterior N(m, Σ): m = {m}\nΣ =\n{sigma}");

    // by hand: remove u₃, a = 0
    let a = 0.0;
    let s33 = sigma[(2, 2)];
    let s_k3 = array![sigma[(0, 2)], sigma[(1, 2)]];
    let mean_hand = array![m[0], m[1]] + &s_k3 * ((a - m[2]) / s33);
    let mut cov_hand = Array2::<f64>::zeros((2, 2));
    for i in 0..2 {
        for j in 0..2 {
            cov_hand[(i, j)] = sigma[(i, j)] - s_k3[i] * s_k3[j] / s33;
        }
    }
    println!("student prior by hand: mean {mean_hand:.6}\ncovariance\n{cov_hand:.6}");

    // by the library, covariance form
    let cov_matrix = Mat::from_fn(3, 3, |i, j| sigma[(i, j)]);
    let teacher = DenseGaussian::new(m.clone(), cov_matrix, Form::Covariance)?;
    let never = Jitter::Never;
    let lib = condition(&teacher, &[2], array![a].view(), never)?;
    let lib_cov = to_array(&lib.gaussian.matrix);
    println!(
        "library (covariance form): kept {:?}, mean {:.6}, jitter {}",
        lib.kept, lib.gaussian.mean, lib.jitter
    );
    checks.at_most(
        "library mean = hand mean (covariance form)",
        common::max_abs_diff(lib.gaussian.mean.iter(), mean_hand.iter()),
        1e-15,
        "a 1×1 Cholesky solve instead of a division: a few ulps",
    );
    checks.at_most(
        "library covariance = hand covariance",
        common::max_abs_diff(lib_cov.iter(), cov_hand.iter()),
        1e-15,
        "a few ulps",
    );

    // precision form: the conditional's precision is the kept block of Λ
    let precision = teacher.to_form(Form::Precision)?;
    let lib_p = condition(&precision, &[2], array![a].view(), never)?;
    let back = lib_p.gaussian.to_form(Form::Covariance)?;
    let lambda = to_array(&precision.matrix);
    println!(
        "library (precision form): precision of the prior = Λ' (the kept block of Λ) =\n{:.6}",
        to_array(&lib_p.gaussian.matrix)
    );
    checks.at_most(
        "precision form: mean = hand mean",
        common::max_abs_diff(lib_p.gaussian.mean.iter(), mean_hand.iter()),
        1e-13,
        "two 3×3 Cholesky inversions of a matrix with κ(Σ) ≈ 20: O(κ u) relative",
    );
    checks.at_most(
        "precision form: Λ'⁻¹ = hand covariance",
        common::max_abs_diff(to_array(&back.matrix).iter(), cov_hand.iter()),
        1e-13,
        "two inversions, κ ≈ 20: O(κ u)",
    );
    checks.at_most(
        "precision form: the prior's precision is Λ's kept block",
        common::max_abs_diff(
            to_array(&lib_p.gaussian.matrix).iter(),
            lambda.slice(ndarray::s![0..2, 0..2]).iter(),
        ),
        0.0,
        "copied, not computed",
    );

    // conditioning twice = conditioning once on both
    let once = condition(&teacher, &[2, 1], array![0.0, 0.5].view(), never)?;
    let first = condition(&teacher, &[2], array![0.0].view(), never)?;
    // in `first`, coordinate 1 of the kept (0, 1) is the teacher's u₂
    let twice = condition(&first.gaussian, &[1], array![0.5].view(), never)?;
    println!(
        "u₁ | u₃ = 0, u₂ = 0.5: at once N({:.9}, {:.9}), in two steps N({:.9}, {:.9})",
        once.gaussian.mean[0],
        once.gaussian.matrix[(0, 0)],
        twice.gaussian.mean[0],
        twice.gaussian.matrix[(0, 0)]
    );
    let gap: Array1<f64> = array![
        once.gaussian.mean[0] - twice.gaussian.mean[0],
        once.gaussian.matrix[(0, 0)] - twice.gaussian.matrix[(0, 0)]
    ];
    checks.at_most(
        "conditioning on u₃ then u₂ = on both at once",
        gap.iter().fold(0.0, |a: f64, b| a.max(b.abs())),
        1e-14,
        "the theorem applied twice; different round-off paths on O(1) values",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
