//! Batch losses, each a composite with its formula stated here. Every loss takes a
//! [`Reduction`]: the per-row losses `ℓ_i` (rows = axis 0) are summed or averaged over the rows.
//! The divergences between distributions are in [`distribution`](super::distribution).

use std::f64::consts::PI;

use std::ops::Neg;

use super::distribution::DiagGaussian;
use super::reduction::Reduction;
use crate::float::Float;
use crate::tape::Var;
use crate::{Error, Result};

pub(crate) fn check_logits(op: &'static str, logits: &[usize]) -> Result<()> {
    if logits.len() != 2 || logits[1] == 0 {
        return Err(Error::shape(
            op,
            &[logits],
            "logits must be [batch, classes] with classes ≥ 1",
        ));
    }
    Ok(())
}

pub(crate) fn check_same(op: &'static str, a: &[usize], b: &[usize]) -> Result<()> {
    if a != b {
        return Err(Error::shape(
            op,
            &[a, b],
            "both arguments must have one shape",
        ));
    }
    Ok(())
}

/// Cross-entropy with integer labels:
///
/// ```math
/// \ell_i = -\log \operatorname{softmax}(z_i)_{y_i}
///        = -z_{i y_i} + \log \sum_{k=1}^{K} e^{z_{ik}},
/// ```
///
/// reduced over the `B` rows by `reduction` (`Mean`:
/// `$L = -\frac{1}{B} \sum_{i=1}^{B} \log \operatorname{softmax}(z_i)_{y_i}$`). Its gradient,
/// which the tape composes from `log_softmax` and a gather, is
/// `$\partial \ell_i / \partial z_i = \operatorname{softmax}(z_i) - e_{y_i}$`.
///
/// `logits` is `z` (`[B, K]`), `labels` is `y` (`B` class indices in `0..K`).
///
/// ```
/// use autograd::functional::{cross_entropy, Reduction};
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// let z = tape.param(array![[0.0, 0.0], [0.0, 0.0]]); // uniform: ℓ_i = ln 2
/// let mean = cross_entropy(z, &[0, 1], Reduction::Mean)?;
/// let sum = cross_entropy(z, &[0, 1], Reduction::Sum)?;
/// assert!((mean.item().unwrap() - 2f64.ln()).abs() < 1e-15);
/// assert!((sum.item().unwrap() - 2.0 * 2f64.ln()).abs() < 1e-15);
/// # Ok::<(), autograd::Error>(())
/// ```
pub fn cross_entropy<'t, F: Float>(
    logits: Var<'t, F>,
    labels: &[usize],
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    let shape = logits.shape();
    check_logits("cross_entropy", &shape)?;
    let (b, k) = (shape[0], shape[1]);
    if labels.len() != b {
        return Err(Error::argument(
            "cross_entropy",
            format!("{} labels for a batch of {b}", labels.len()),
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y >= k) {
        return Err(Error::argument(
            "cross_entropy",
            format!("label {bad} is out of range for {k} classes"),
        ));
    }
    let picks: Vec<usize> = labels.iter().enumerate().map(|(i, &y)| i * k + y).collect();
    let picked = logits.log_softmax(1)?.take_flat(picks.into(), &[b])?;
    Ok(reduction.reduce(picked.neg()))
}

/// Cross-entropy against soft targets at temperature `T`:
///
/// ```math
/// \ell_i = -\sum_{k=1}^{K} p_{ik} \log \operatorname{softmax}\!\left(\frac{z_i}{T}\right)_{\!k},
/// \qquad
/// \frac{\partial \ell_i}{\partial z_i}
///   = \frac{1}{T}\Big(\big(\textstyle\sum_k p_{ik}\big)\operatorname{softmax}(z_i/T) - p_i\Big),
/// ```
///
/// reduced over the `B` rows by `reduction`.
///
/// `targets` is `p` (`[B, K]`, rows are distributions, e.g. a teacher's `softmax(v/T)`),
/// `logits` is the student's `z`. This is the soft-target term of Hinton distillation as the
/// seed works write it, without the `T²` factor (callers that want it multiply by `T²`).
///
/// ```
/// use autograd::functional::{soft_cross_entropy, Reduction};
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// let z = tape.param(array![[0.0, 0.0]]);
/// let p = tape.constant(array![[0.25, 0.75]]);
/// let ce = soft_cross_entropy(z, p, 2.0, Reduction::Mean)?; // −Σ_k p_k ln ½ = ln 2
/// assert!((ce.item().unwrap() - 2f64.ln()).abs() < 1e-15);
/// # Ok::<(), autograd::Error>(())
/// ```
pub fn soft_cross_entropy<'t, F: Float>(
    logits: Var<'t, F>,
    targets: Var<'t, F>,
    temperature: f64,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    let shape = logits.shape();
    check_logits("soft_cross_entropy", &shape)?;
    check_same("soft_cross_entropy", &shape, &targets.shape())?;
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(Error::argument(
            "soft_cross_entropy",
            format!("temperature must be positive and finite, got {temperature}"),
        ));
    }
    let log_q = logits.mul_scalar(1.0 / temperature).log_softmax(1)?;
    Ok(reduction.reduce(targets.try_mul(log_q)?.neg()))
}

/// The squared error: `$\ell_i = \sum_j (\hat y_{ij} - y_{ij})^2$` over the elements of row
/// `i`, reduced over the rows by `reduction`.
///
/// `pred` is `ŷ`, `target` is `y`, of one shape (no broadcasting: a `[B, 1]` prediction against
/// a `[B]` target is an error, not a `[B, B]` matrix of residuals). For `[B]` or `[B, 1]` inputs
/// `Reduction::Mean` is the usual mean squared error; for `[B, d]` it is `d` times the mean over
/// all elements (the per-object error is summed over the object's `d` outputs, as a Gaussian
/// log-likelihood is).
///
/// ```
/// use autograd::functional::{squared_error, Reduction};
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// let pred = tape.param(array![[1.0, 2.0], [0.0, 0.0]]);
/// let y = tape.constant(array![[0.0, 0.0], [0.0, 3.0]]); // rows: 1 + 4 = 5 and 9
/// assert_eq!(squared_error(pred, y, Reduction::Sum)?.item(), Some(14.0));
/// assert_eq!(squared_error(pred, y, Reduction::Mean)?.item(), Some(7.0));
/// # Ok::<(), autograd::Error>(())
/// ```
pub fn squared_error<'t, F: Float>(
    pred: Var<'t, F>,
    target: Var<'t, F>,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    check_same("squared_error", &pred.shape(), &target.shape())?;
    Ok(reduction.reduce(pred.try_sub(target)?.square()))
}

/// The Gaussian negative log-likelihood of `target` under `dist = N(μ, diag σ²)`:
///
/// ```math
/// \ell_i = \sum_j \frac{1}{2}\left[\ln 2\pi + \ln \sigma_{ij}^2
///          + \frac{(y_{ij} - \mu_{ij})^2}{\sigma_{ij}^2}\right],
/// ```
///
/// reduced over the rows by `reduction`.
///
/// `target` is `y`, of the shape of `dist`'s mean (its log-variance may broadcast, e.g. one
/// shared noise level).
///
/// ```
/// use autograd::functional::{gaussian_nll, DiagGaussian, Reduction};
/// use autograd::Tape;
/// use ndarray::array;
/// use std::f64::consts::PI;
///
/// let tape = Tape::<f64>::new();
/// let dist = DiagGaussian::new(tape.param(array![0.0, 1.0]), tape.scalar(0.0))?; // σ² = 1
/// let y = tape.constant(array![0.0, 3.0]);
/// let nll = gaussian_nll(&dist, y, Reduction::Sum)?; // ln 2π + ½ (0 + 4)
/// assert!((nll.item().unwrap() - ((2.0 * PI).ln() + 2.0)).abs() < 1e-14);
/// # Ok::<(), autograd::Error>(())
/// ```
pub fn gaussian_nll<'t, F: Float>(
    dist: &DiagGaussian<'t, F>,
    target: Var<'t, F>,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    let (mean, log_var) = (dist.mean(), dist.log_var());
    check_same("gaussian_nll", &mean.shape(), &target.shape())?;
    let sq = target
        .try_sub(mean)?
        .square()
        .try_mul(log_var.neg().exp())?;
    let terms = sq.try_add(log_var)?.add_scalar((2.0 * PI).ln());
    Ok(reduction.reduce(terms).mul_scalar(0.5))
}
