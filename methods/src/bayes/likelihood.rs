//! The likelihood `p(y | x, w)` of the teacher and of the student: Gaussian regression or a
//! categorical distribution over softmax outputs.

use std::f64::consts::PI;
use std::ops::Range;

use autograd::{Float, Var};
use ndarray::{s, Array2, ArrayView2};

use crate::{Error, Result};

/// The observation model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Likelihood {
    /// `$y \sim \mathcal{N}(f(x), s^{2} I)$` with `$s^{2}$` = `noise_var` (the seed's synthetic
    /// regression has `$\beta = 0.1$`; whether `$\beta$` is a variance or a deviation is not stated
    /// — a config choice).
    Gaussian {
        /// `$s^{2} > 0$`.
        noise_var: f64,
    },
    /// `$y \sim \operatorname{Cat} (\operatorname{softmax} (f(x)))$`.
    Categorical,
}

/// Observed targets: real values `[N, K]` for [`Likelihood::Gaussian`], class labels for
/// [`Likelihood::Categorical`].
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    /// Regression targets, `[N, K]`.
    Real(ArrayView2<'a, f64>),
    /// Class indices `0..K`.
    Labels(&'a [usize]),
}

impl<'a> Targets<'a> {
    /// The number of objects `N`.
    pub fn len(&self) -> usize {
        match self {
            Targets::Real(y) => y.nrows(),
            Targets::Labels(y) => y.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The objects `range`.
    pub fn rows(&self, range: Range<usize>) -> Targets<'a> {
        match *self {
            Targets::Real(y) => Targets::Real(y.slice_move(s![range, ..])),
            Targets::Labels(y) => Targets::Labels(&y[range]),
        }
    }
}

impl Likelihood {
    /// Checks the parameters and that `targets` fit (kind, `N` rows, `K` outputs or classes).
    pub fn validate(&self, targets: &Targets<'_>, n: usize, outputs: usize) -> Result<()> {
        const WHAT: &str = "likelihood";
        if targets.len() != n {
            return Err(Error::config(
                WHAT,
                format!("{} targets for {n} inputs", targets.len()),
            ));
        }
        match (self, targets) {
            (Likelihood::Gaussian { noise_var }, Targets::Real(y)) => {
                if !(noise_var.is_finite() && *noise_var > 0.0) {
                    return Err(Error::config(
                        "Gaussian likelihood noise variance s²",
                        format!("must be finite and > 0, got {noise_var}"),
                    ));
                }
                if y.ncols() != outputs || y.iter().any(|v| !v.is_finite()) {
                    return Err(Error::config(
                        WHAT,
                        format!(
                            "regression targets must be finite with {outputs} columns, got {}",
                            y.ncols()
                        ),
                    ));
                }
            }
            (Likelihood::Categorical, Targets::Labels(y)) => {
                if let Some(bad) = y.iter().find(|&&c| c >= outputs) {
                    return Err(Error::config(
                        WHAT,
                        format!("label {bad} is out of range for {outputs} classes"),
                    ));
                }
            }
            _ => {
                return Err(Error::config(
                    WHAT,
                    "a Gaussian likelihood needs real targets, a categorical one class labels",
                ))
            }
        }
        Ok(())
    }

    /// `$-\log p(y | X, w) = -\sum_i \log p(y_i | f(x_i))$`, summed over the batch, constants
    /// included:
    ///
    /// * Gaussian: `$\sum_i \sum_k (y_{ik} - f_k(x_i))^{2} / (2s^{2}) + (N K / 2) \ln(2\pi
    ///   s^{2})$`;
    /// * categorical: `$-\sum_i \log \operatorname{softmax} (f(x_i))_{y_i}$`.
    ///
    /// `output` is `f(X)` (`[N, K]`); `targets` must fit ([`Likelihood::validate`]).
    pub fn neg_log_likelihood<'t, F: Float>(
        &self,
        output: Var<'t, F>,
        targets: &Targets<'_>,
    ) -> Result<Var<'t, F>> {
        let shape = output.shape();
        if shape.len() != 2 {
            return Err(Error::config(
                "likelihood",
                format!("the output must be [N, K], got {shape:?}"),
            ));
        }
        self.validate(targets, shape[0], shape[1])?;
        let (n, k) = (shape[0] as f64, shape[1] as f64);
        match (self, targets) {
            (Likelihood::Gaussian { noise_var }, Targets::Real(y)) => {
                let y = output.tape().constant(y.mapv(F::from_f64));
                let sq = y.try_sub(output)?.square().sum();
                Ok(sq
                    .mul_scalar(0.5 / noise_var)
                    .add_scalar(0.5 * n * k * (2.0 * PI * noise_var).ln()))
            }
            (Likelihood::Categorical, Targets::Labels(y)) => {
                use autograd::functional::{cross_entropy, Reduction};
                Ok(cross_entropy(output, y, Reduction::Sum)?)
            }
            _ => unreachable!("validate checked the kinds"),
        }
    }

    /// Square roots of the output Hessian: seeds `$S_1, \dots, S_K$` (`[N, K]` each) with `$\sum_k
    /// S_k[i]^{\top} S_k[i] = \nabla^{2}_f (-\log p(y_i | f))$` at the outputs `$f(x_i)$` (row `i`
    /// of `output`):
    ///
    /// * Gaussian: `$\nabla^{2} = I / s^{2}$`, `$S_k[i] = e_k / s$`;
    /// * categorical: `$\nabla^{2} = \operatorname{diag} (p_i) - p_i p_i^{\top}$` (`$p_i =
    ///   \operatorname{softmax} (f(x_i))$`), `$S_k[i] = \sqrt{p_{ik}} (e_k - p_i)$`: `$\sum_k
    ///   p_{ik} (e_k - p_i)(e_k - p_i)^{\top} = \operatorname{diag} (p_i) - p_i p_i^{\top}$` since
    ///   `$\sum_k p_{ik} = 1$`.
    ///
    /// The generalised Gauss–Newton matrix is `$\sum_i \sum_k J_i^{\top} S_k[i]^{\top} S_k[i]
    /// J_i$`, `$J_i$` the Jacobian of `$f(x_i)$` in the weights.
    pub fn output_hessian_sqrt(&self, output: ArrayView2<'_, f64>) -> Vec<Array2<f64>> {
        let (n, k) = output.dim();
        match self {
            Likelihood::Gaussian { noise_var } => (0..k)
                .map(|c| {
                    let mut s = Array2::zeros((n, k));
                    s.column_mut(c).fill(1.0 / noise_var.sqrt());
                    s
                })
                .collect(),
            Likelihood::Categorical => {
                let mut p = output.to_owned();
                for mut row in p.rows_mut() {
                    let max = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                    row.mapv_inplace(|v| (v - max).exp());
                    let total = row.sum();
                    row.mapv_inplace(|v| v / total);
                }
                (0..k)
                    .map(|c| {
                        Array2::from_shape_fn((n, k), |(i, j)| {
                            let e = if j == c { 1.0 } else { 0.0 };
                            p[[i, c]].sqrt() * (e - p[[i, j]])
                        })
                    })
                    .collect()
            }
        }
    }
}
