//! Gradient checks: analytic gradients against central finite differences, in `f64`.
//!
//! A function `f` of several array inputs with an output of any shape is reduced to a scalar by
//! a fixed random projection `$L(x) = \langle f(x), r \rangle$` (`$r \sim \mathcal N(0, I)$`,
//! seeded), so one check covers the whole Jacobian in a random direction, as JAX's
//! `check_grads` does. Each element `j` of each input then compares the analytic
//! `$\partial L / \partial x_j$` with
//!
//! ```math
//! \frac{L(x + \varepsilon e_j) - L(x - \varepsilon e_j)}{2\varepsilon}
//!   = \frac{\partial L}{\partial x_j} + \frac{\varepsilon^2}{6} \frac{\partial^3 L}{\partial x_j^3}
//!     + O(\varepsilon^4).
//! ```
//!
//! [`gradgradcheck`] does the same for the second order: it checks the gradient of
//! `$h(x) = \langle \nabla_x L(x), s \rangle$` (`s` a second seeded random direction), whose
//! analytic gradient needs
//! the recorded (`create_graph`) backward pass, against finite differences of `h`, whose
//! evaluation uses first-order gradients only.

use std::fmt;

use ndarray::{ArrayD, Dimension, IxDyn};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::tape::{Tape, Var};
use crate::Result;

/// The step and tolerances of a check. An analytic value `a` passes against a finite-difference
/// value `n` when `|a − n| ≤ atol + rtol·|n|`.
///
/// Why the defaults (`ε = 1e-6`, `atol = 1e-6`, `rtol = 1e-5`), in `f64` with unit round-off
/// `u ≈ 1.1e-16`:
/// * truncation: the central difference is off by `ε²/6·|L'''| ≈ 1.7e-13·|L'''|`, which `rtol`
///   covers while `|L'''| ≤ 6e7·|L'|`;
/// * rounding: if `L` is computed with an absolute error of `k·u·S` (`S` the sum of the
///   magnitudes of its terms), the quotient is off by `k·u·S/ε ≈ 1.1e-10·k·S`. For the checks'
///   small tensors `k·S ≲ 10³`, so ≲ `1.1e-7`: `atol` leaves a margin of about 9.
///
/// A wrong rule is off by O(1) relative to `n`, far outside both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// The finite-difference step `ε`.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (relative to the finite-difference value).
    pub rtol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-5,
        }
    }
}

/// One compared element.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// Which input (position in the list).
    pub input: usize,
    /// The element's index in that input.
    pub index: Vec<usize>,
    /// The analytic derivative.
    pub analytic: f64,
    /// The central finite difference.
    pub numeric: f64,
}

/// The outcome of a check: how many elements were compared, the largest absolute error, and
/// the element that came closest to (or went furthest past) its tolerance.
#[derive(Clone, Debug)]
pub struct GradCheckReport {
    /// The number of input elements compared.
    pub checked: usize,
    /// `max_j |a_j − n_j|`.
    pub max_abs_error: f64,
    /// `max_j |a_j − n_j| / (atol + rtol·|n_j|)`: at most 1 means every element passed.
    pub worst_ratio: f64,
    /// The element that attains `worst_ratio`.
    pub worst: Option<Mismatch>,
    /// The tolerances used.
    pub tolerance: Tolerance,
}

impl GradCheckReport {
    /// Whether every element is within tolerance (and every value finite).
    pub fn passed(&self) -> bool {
        self.worst_ratio <= 1.0
    }
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        write!(
            f,
            "{verdict}: {} elements, max |analytic − numeric| = {:.3e}, worst at {:.3} of tolerance",
            self.checked, self.max_abs_error, self.worst_ratio
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                " (input {} at {:?}: analytic {:.9e}, numeric {:.9e})",
                w.input, w.index, w.analytic, w.numeric
            )?;
        }
        Ok(())
    }
}

/// Seed of the random projections, fixed so that a check is reproducible.
const PROJECTION_SEED: u64 = 0x5eed_0f9a;

fn random_like(shape: &[usize], rng: &mut StdRng) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || StandardNormal.sample(rng))
}

/// `⟨a, b⟩` as a recorded scalar.
fn project<'t>(a: Var<'t, f64>, b: &ArrayD<f64>) -> Result<Var<'t, f64>> {
    Ok(a.try_mul(a.tape().constant(b.view()))?.sum())
}

/// Returns `f` unchanged, with its signature pinned to the one the checks take. A closure
/// stored in a variable does not get a signature generic over the tape's lifetime by itself;
/// passing it through here gives it one, so that it can be reused for both checks:
///
/// ```
/// use autograd::{gradcheck, gradgradcheck, gradcheck::check_fn, Tolerance};
/// let f = check_fn(|_, xs| Ok(xs[0].tanh().sum()));
/// let x = [ndarray::arr1(&[0.3, -0.7]).into_dyn()];
/// assert!(gradcheck(&f, &x, Tolerance::default())?.passed());
/// assert!(gradgradcheck(&f, &x, Tolerance::default())?.passed());
/// # Ok::<(), autograd::Error>(())
/// ```
pub fn check_fn<Fun>(f: Fun) -> Fun
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    f
}

/// Checks the first derivatives of `f` at `inputs` (see the module documentation).
pub fn gradcheck<Fun>(f: Fun, inputs: &[ArrayD<f64>], tol: Tolerance) -> Result<GradCheckReport>
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let r = output_direction(&f, inputs)?;
    check_scalar(|t, xs| project(f(t, xs)?, &r), inputs, tol)
}

/// Checks the second derivatives of `f` at `inputs`: the gradient of `⟨∇_x ⟨f(x), r⟩, s⟩`
/// (see the module documentation).
pub fn gradgradcheck<Fun>(f: Fun, inputs: &[ArrayD<f64>], tol: Tolerance) -> Result<GradCheckReport>
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let r = output_direction(&f, inputs)?;
    let mut rng = StdRng::seed_from_u64(PROJECTION_SEED + 1);
    let s: Vec<ArrayD<f64>> = inputs
        .iter()
        .map(|x| random_like(x.shape(), &mut rng))
        .collect();
    check_scalar(
        |t, xs| {
            let loss = project(f(t, xs)?, &r)?;
            let grads = t.grad_graph(loss, xs)?;
            let mut total = t.scalar(0.0);
            for (g, si) in grads.into_iter().zip(&s) {
                total = total.try_add(project(g, si)?)?;
            }
            Ok(total)
        },
        inputs,
        tol,
    )
}

/// The projection direction `r` for `f`'s output, drawn once from the fixed seed.
fn output_direction<Fun>(f: &Fun, inputs: &[ArrayD<f64>]) -> Result<ArrayD<f64>>
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let tape = Tape::new();
    let xs: Vec<_> = inputs.iter().map(|x| tape.param(x.view())).collect();
    let shape = f(&tape, &xs)?.shape();
    Ok(random_like(
        &shape,
        &mut StdRng::seed_from_u64(PROJECTION_SEED),
    ))
}

/// Compares the gradient of a scalar-valued `h` with central differences, element by element.
fn check_scalar<H>(h: H, inputs: &[ArrayD<f64>], tol: Tolerance) -> Result<GradCheckReport>
where
    H: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let value_at = |xs: &[ArrayD<f64>]| -> Result<f64> {
        let tape = Tape::new();
        let vars: Vec<_> = xs.iter().map(|x| tape.param(x.view())).collect();
        let out = h(&tape, &vars)?;
        Ok(out.item().expect("h is scalar"))
    };
    let analytic = {
        let tape = Tape::new();
        let vars: Vec<_> = inputs.iter().map(|x| tape.param(x.view())).collect();
        let out = h(&tape, &vars)?;
        tape.grad(out, &vars)?
    };

    let mut report = GradCheckReport {
        checked: 0,
        max_abs_error: 0.0,
        worst_ratio: 0.0,
        worst: None,
        tolerance: tol,
    };
    let mut xs = inputs.to_vec();
    for (input, grad) in analytic.iter().enumerate() {
        for (index, &a) in grad.indexed_iter() {
            let original = xs[input][&index];
            xs[input][&index] = original + tol.eps;
            let plus = value_at(&xs)?;
            xs[input][&index] = original - tol.eps;
            let minus = value_at(&xs)?;
            xs[input][&index] = original;
            let numeric = (plus - minus) / (2.0 * tol.eps);

            let err = (a - numeric).abs();
            let ratio = if err.is_nan() {
                f64::INFINITY
            } else {
                err / (tol.atol + tol.rtol * numeric.abs())
            };
            report.checked += 1;
            report.max_abs_error = report.max_abs_error.max(err);
            if report.worst.is_none() || ratio > report.worst_ratio {
                report.worst_ratio = ratio;
                report.worst = Some(Mismatch {
                    input,
                    index: index.slice().to_vec(),
                    analytic: a,
                    numeric,
                });
            }
        }
    }
    Ok(report)
}
