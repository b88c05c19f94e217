//! Distributions as values, and the KL divergence with its direction in the call.
//!
//! `kl(&q, &p, reduction)` is `KL(q ‖ p) = E_q[log q − log p]`: the first argument is the
//! distribution the expectation is taken under. A divergence is not symmetric, so two
//! distributions of one type cannot be swapped by mistake without the call reading wrong.
//!
//! ```text
//! DiagGaussian   N(μ, diag σ²): mean and log-variance together (log-variance may broadcast)
//! Categorical    Cat(p): log-probabilities, class axis last
//! KlDivergence   the trait: KL(self ‖ p) for one pair of distribution types
//! kl             the function: kl(&q, &p, reduction) = KL(q ‖ p)
//! ```
//!
//! **One shape for every pair.** Each pair of distribution types gets one
//! `impl KlDivergence<P> for Q`, and every call is `kl(&q, &p, reduction)`. This module has
//! diagonal Gaussian ‖ diagonal Gaussian and categorical ‖ categorical. Other covariance
//! structures (a full covariance held by its Cholesky factor, a Kronecker-factored K-FAC layer
//! posterior) join from the crate that defines them — the orphan rule allows
//! `impl KlDivergence<FullGaussian> for DiagGaussian<'t, F>` in the crate of `FullGaussian` — and
//! compute the exact divergence through their factors. All follow one rule for `reduction`:
//! the **rows** are axis 0 of `q`'s mean (one row for a 0-d mean), `Reduction::Sum` is the
//! divergence between the joint distributions, and `Reduction::Mean` divides it by the number of
//! rows of `q`. So changing the prior's covariance structure never changes the scale of the
//! term. For a posterior over one parameter tensor, the KL of the ELBO is `Reduction::Sum`.

use std::ops::Neg;

use super::loss::check_same;
use super::reduction::Reduction;
use crate::float::Float;
use crate::ops::binary::broadcast_shape;
use crate::tape::{Tape, Var};
use crate::{Error, Result};

/// `KL(self ‖ p)` for one pair of distribution types. Call it through [`kl`], which names the
/// direction: `kl(&q, &p, reduction)` = `KL(q ‖ p)`. See the [module documentation](self) for
/// the rule every implementation follows for `reduction`.
///
/// A crate that defines a distribution adds its pairs with one impl each, including pairs with
/// the types of this module (the orphan rule allows `impl KlDivergence<Local> for
/// DiagGaussian<'t, F>`). The example is such a crate: an isotropic prior `N(0, s² I)` held as a
/// number, the same shape a full-covariance or K-FAC prior takes.
///
/// ```
/// use autograd::functional::{kl, DiagGaussian, KlDivergence, Reduction};
/// use autograd::{Float, Tape, Var};
/// use ndarray::array;
///
/// /// `N(0, s² I)`, of any shape.
/// struct Isotropic {
///     variance: f64,
/// }
///
/// /// `KL(q ‖ N(0, s² I)) = ½ Σ_j [ln s² − ln σ_j² + (σ_j² + μ_j²) / s² − 1]`.
/// impl<'t, F: Float> KlDivergence<Isotropic> for DiagGaussian<'t, F> {
///     type Output = autograd::Result<Var<'t, F>>;
///
///     fn kl_divergence(&self, p: &Isotropic, reduction: Reduction) -> Self::Output {
///         let terms = self
///             .variance()
///             .try_add(self.mean().square())?
///             .mul_scalar(1.0 / p.variance)
///             .try_sub(self.log_var())?
///             .add_scalar(p.variance.ln() - 1.0);
///         Ok(reduction.scale(terms.sum(), self.rows()).mul_scalar(0.5))
///     }
/// }
///
/// let tape = Tape::<f64>::new();
/// let q = DiagGaussian::new(tape.param(array![[0.5, -1.0], [2.0, 0.0]]), tape.param(array![[0.1, -0.3], [0.0, 0.4]]))?;
/// let as_diagonal = DiagGaussian::new(tape.scalar(0.0), tape.scalar(3f64.ln()))?;
/// for reduction in [Reduction::Sum, Reduction::Mean] {
///     let a = kl(&q, &Isotropic { variance: 3.0 }, reduction)?.item().unwrap();
///     let b = kl(&q, &as_diagonal, reduction)?.item().unwrap();
///     assert!((a - b).abs() < 1e-14);
/// }
/// # Ok::<(), autograd::Error>(())
/// ```
pub trait KlDivergence<P: ?Sized> {
    /// The result: for distributions on a tape, `Result<Var<'t, F>, E>` with the crate's error.
    type Output;

    /// `KL(self ‖ p)`, the divergence between the joint distributions (`Reduction::Sum`) or that
    /// divided by the number of rows of `self` (`Reduction::Mean`).
    fn kl_divergence(&self, p: &P, reduction: Reduction) -> Self::Output;
}

/// `KL(q ‖ p) = E_q[log q(x) − log p(x)]`, reduced over the rows of `q` by `reduction`: the
/// divergence **of `q` from `p`**, with the expectation under `q` (the first argument). In
/// variational inference `q` is the approximate posterior and `p` the prior; in distillation by
/// `KL(teacher ‖ student)` the teacher comes first.
///
/// ```
/// use autograd::functional::{kl, DiagGaussian, Reduction};
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// // q = N(1, e⁰ = 1), p = N(0, e^{ln 4} = 4): KL(q‖p) = ½ [ln 4 + (1 + 1)/4 − 1],
/// // KL(p‖q) = ½ [−ln 4 + (4 + 1)/1 − 1]: the direction matters.
/// let q = DiagGaussian::new(tape.param(array![1.0]), tape.param(array![0.0]))?;
/// let p = DiagGaussian::new(tape.constant(array![0.0]), tape.constant(array![4f64.ln()]))?;
/// let q_from_p = kl(&q, &p, Reduction::Sum)?.item().unwrap();
/// let p_from_q = kl(&p, &q, Reduction::Sum)?.item().unwrap();
/// assert!((q_from_p - 0.5 * (4f64.ln() - 0.5)).abs() < 1e-15);
/// assert!((p_from_q - 0.5 * (4.0 - 4f64.ln())).abs() < 1e-15);
/// # Ok::<(), autograd::Error>(())
/// ```
pub fn kl<Q, P>(q: &Q, p: &P, reduction: Reduction) -> Q::Output
where
    Q: KlDivergence<P> + ?Sized,
    P: ?Sized,
{
    q.kl_divergence(p, reduction)
}

/// The number of rows of a distribution whose batch shape is `shape`: its axis 0, or 1.
fn rows_of(shape: &[usize]) -> usize {
    shape.first().copied().unwrap_or(1)
}

/// A Gaussian with diagonal covariance, `N(μ, diag σ²)`, held as its mean `μ` and its
/// log-variance `ln σ²` (unconstrained: any real log-variance is a valid variance).
///
/// Every element is one independent coordinate. The log-variance may have fewer or size-1 axes
/// than the mean (NumPy broadcasting): `DiagGaussian::new(mu, tape.scalar(0.0))` is
/// `N(μ, I)`. Axis 0 of the mean is the rows of a batch (see [`Reduction`]).
///
/// ```
/// use autograd::functional::DiagGaussian;
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// let q = DiagGaussian::new(tape.param(array![[0.5, -1.0]]), tape.param(array![[0.0, 2f64.ln()]]))?;
/// assert_eq!(q.shape(), vec![1, 2]);
/// assert_eq!(q.variance().value(), array![[1.0, 2.0]].into_dyn().into_shared());
/// // A log-variance that does not broadcast to the mean is refused.
/// assert!(DiagGaussian::new(tape.param(array![0.0, 1.0]), tape.param(array![0.0, 1.0, 2.0])).is_err());
/// # Ok::<(), autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DiagGaussian<'t, F: Float> {
    mean: Var<'t, F>,
    log_var: Var<'t, F>,
}

impl<'t, F: Float> DiagGaussian<'t, F> {
    /// `N(mean, diag exp(log_var))`. Errors when the two live on different tapes or `log_var`
    /// does not broadcast to the shape of `mean`.
    ///
    /// ```
    /// use autograd::functional::DiagGaussian;
    /// use autograd::Tape;
    /// use ndarray::array;
    ///
    /// let tape = Tape::<f64>::new();
    /// // A batch of 2 rows of 3 coordinates, one log-variance per coordinate.
    /// let mean = ndarray::Array2::<f64>::zeros((2, 3));
    /// let q = DiagGaussian::new(tape.param(mean), tape.param(array![0.0, 1.0, 2.0]))?;
    /// assert_eq!((q.rows(), q.log_var().shape()), (2, vec![3]));
    /// # Ok::<(), autograd::Error>(())
    /// ```
    pub fn new(mean: Var<'t, F>, log_var: Var<'t, F>) -> Result<Self> {
        mean.same_tape(&log_var, "DiagGaussian::new")?;
        let (m, v) = (mean.shape(), log_var.shape());
        if broadcast_shape("DiagGaussian::new", &m, &v)? != m {
            return Err(Error::shape(
                "DiagGaussian::new",
                &[&m, &v],
                "the log-variance must broadcast to the shape of the mean",
            ));
        }
        Ok(DiagGaussian { mean, log_var })
    }

    /// The standard normal `N(0, I)`, of shape `[]`: it broadcasts against a distribution of
    /// any shape, e.g. the prior of `kl(&q, &DiagGaussian::standard(tape), reduction)`.
    ///
    /// ```
    /// use autograd::functional::{kl, DiagGaussian, Reduction};
    /// use autograd::Tape;
    /// use ndarray::array;
    ///
    /// let tape = Tape::<f64>::new();
    /// let q = DiagGaussian::new(tape.param(array![[0.0, 0.0], [0.0, 0.0]]), tape.scalar(0.0))?;
    /// assert_eq!(kl(&q, &DiagGaussian::standard(&tape), Reduction::Sum)?.item(), Some(0.0));
    /// # Ok::<(), autograd::Error>(())
    /// ```
    pub fn standard(tape: &'t Tape<F>) -> Self {
        DiagGaussian {
            mean: tape.scalar(F::zero()),
            log_var: tape.scalar(F::zero()),
        }
    }

    /// `μ`.
    pub fn mean(&self) -> Var<'t, F> {
        self.mean
    }

    /// `ln σ²` (possibly of a broadcastable shape smaller than the mean's).
    pub fn log_var(&self) -> Var<'t, F> {
        self.log_var
    }

    /// `σ² = exp(ln σ²)`, recorded on the tape.
    pub fn variance(&self) -> Var<'t, F> {
        self.log_var.exp()
    }

    /// The shape of the distribution: the shape of its mean.
    pub fn shape(&self) -> Vec<usize> {
        self.mean.shape()
    }

    /// The number of rows: the length of axis 0 of the mean (1 for a 0-d mean).
    pub fn rows(&self) -> usize {
        rows_of(&self.mean.shape())
    }
}

/// `KL(q ‖ p)` between diagonal Gaussians, `q = self`:
///
/// ```math
/// \mathrm{KL}(q \,\|\, p) = \frac{1}{2} \sum_j \left[ \ln \sigma_{p,j}^2 - \ln \sigma_{q,j}^2
///   + \frac{\sigma_{q,j}^2 + (\mu_{q,j} - \mu_{p,j})^2}{\sigma_{p,j}^2} - 1 \right],
/// ```
///
/// the sum over all elements (`Reduction::Sum`), or that divided by the rows of `q`
/// (`Reduction::Mean`). `p` must broadcast to the shape of `q` (a `[]` prior such as
/// [`DiagGaussian::standard`] serves any `q`).
impl<'t, F: Float> KlDivergence<DiagGaussian<'t, F>> for DiagGaussian<'t, F> {
    type Output = Result<Var<'t, F>>;

    fn kl_divergence(&self, p: &DiagGaussian<'t, F>, reduction: Reduction) -> Self::Output {
        const OP: &str = "kl (diagonal Gaussians)";
        self.mean.same_tape(&p.mean, OP)?;
        let (q_shape, p_shape) = (self.shape(), p.shape());
        if broadcast_shape(OP, &q_shape, &p_shape)? != q_shape {
            return Err(Error::shape(
                OP,
                &[&q_shape, &p_shape],
                "p must broadcast to the shape of q (the first argument)",
            ));
        }
        let ratio = self
            .variance()
            .try_add(self.mean.try_sub(p.mean)?.square())?
            .try_mul(p.log_var.neg().exp())?;
        let terms = p
            .log_var
            .try_sub(self.log_var)?
            .try_add(ratio)?
            .add_scalar(-1.0);
        Ok(reduction.scale(terms.sum(), self.rows()).mul_scalar(0.5))
    }
}

/// A categorical distribution `Cat(π)` per row, held as log-probabilities `ln π` with the class
/// axis last (`[K]` for one distribution, `[B, K]` for a batch of `B`).
///
/// ```
/// use autograd::functional::Categorical;
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// let c = Categorical::from_logits(tape.param(array![[0.0, 3f64.ln()]]))?;
/// let p = c.probs().value();
/// assert!((p[[0, 0]] - 0.25).abs() < 1e-15 && (p[[0, 1]] - 0.75).abs() < 1e-15);
/// assert_eq!((c.classes(), c.rows()), (2, 1));
/// # Ok::<(), autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Categorical<'t, F: Float> {
    log_probs: Var<'t, F>,
}

impl<'t, F: Float> Categorical<'t, F> {
    /// `Cat(softmax(z / T))` over the last axis, from logits `z` and a temperature `T > 0`
    /// (`T = 1`: the plain softmax). Errors on a 0-d input, an empty class axis or a temperature
    /// that is not finite and positive.
    ///
    /// ```
    /// use autograd::functional::Categorical;
    /// use autograd::Tape;
    /// use ndarray::array;
    ///
    /// let tape = Tape::<f64>::new();
    /// // z / T = (0, ln 3) at T = 2 for z = (0, 2 ln 3): π = (¼, ¾).
    /// let c = Categorical::from_logits_at(tape.param(array![0.0, 2.0 * 3f64.ln()]), 2.0)?;
    /// assert!((c.probs().value()[1] - 0.75).abs() < 1e-15);
    /// assert_eq!(c.rows(), 1);
    /// assert!(Categorical::from_logits_at(tape.param(array![0.0]), -1.0).is_err());
    /// # Ok::<(), autograd::Error>(())
    /// ```
    pub fn from_logits_at(logits: Var<'t, F>, temperature: f64) -> Result<Self> {
        const OP: &str = "Categorical::from_logits";
        check_class_axis(OP, &logits.shape())?;
        if !(temperature > 0.0 && temperature.is_finite()) {
            return Err(Error::argument(
                OP,
                format!("temperature must be positive and finite, got {temperature}"),
            ));
        }
        let log_probs = logits.mul_scalar(1.0 / temperature).log_softmax(-1)?;
        Ok(Categorical { log_probs })
    }

    /// `Cat(softmax(z))` over the last axis: [`from_logits_at`](Self::from_logits_at) at `T = 1`.
    pub fn from_logits(logits: Var<'t, F>) -> Result<Self> {
        Self::from_logits_at(logits, 1.0)
    }

    /// From log-probabilities `ln π` (class axis last), taken as they are: each row must be
    /// normalised, `Σ_k π_k = 1`, e.g. the output of `log_softmax(-1)`. Errors on a 0-d input
    /// or an empty class axis.
    ///
    /// ```
    /// use autograd::functional::Categorical;
    /// use autograd::Tape;
    /// use ndarray::array;
    ///
    /// let tape = Tape::<f64>::new();
    /// let log_p = tape.constant(array![[0.5f64.ln(), 0.5f64.ln()]]);
    /// assert_eq!(Categorical::from_log_probs(log_p)?.classes(), 2);
    /// # Ok::<(), autograd::Error>(())
    /// ```
    pub fn from_log_probs(log_probs: Var<'t, F>) -> Result<Self> {
        check_class_axis("Categorical::from_log_probs", &log_probs.shape())?;
        Ok(Categorical { log_probs })
    }

    /// `ln π`.
    pub fn log_probs(&self) -> Var<'t, F> {
        self.log_probs
    }

    /// `π = exp(ln π)`, recorded on the tape.
    pub fn probs(&self) -> Var<'t, F> {
        self.log_probs.exp()
    }

    /// `K`, the number of classes (the last axis).
    pub fn classes(&self) -> usize {
        *self
            .log_probs
            .shape()
            .last()
            .expect("checked: a class axis")
    }

    /// The number of rows: the length of axis 0 of the batch shape (every axis but the last),
    /// 1 for a single distribution `[K]`.
    pub fn rows(&self) -> usize {
        let shape = self.log_probs.shape();
        rows_of(&shape[..shape.len() - 1])
    }
}

fn check_class_axis(op: &'static str, shape: &[usize]) -> Result<()> {
    match shape.last() {
        Some(&k) if k > 0 => Ok(()),
        _ => Err(Error::shape(
            op,
            &[shape],
            "needs a class axis (the last) of at least one class",
        )),
    }
}

/// `KL(q ‖ p)` between categorical distributions, `q = self`, row by row:
///
/// `$\ell_i = \sum_k q_{ik} (\ln q_{ik} - \ln p_{ik})$`, summed (`Reduction::Sum`) or averaged
/// (`Reduction::Mean`) over the rows. Both must have one shape.
///
/// ```
/// use autograd::functional::{kl, Categorical, Reduction};
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// let teacher = Categorical::from_logits(tape.constant(array![[0.0, 3f64.ln()]]))?; // (¼, ¾)
/// let student = Categorical::from_logits(tape.param(array![[0.0, 0.0]]))?;           // (½, ½)
/// let d = kl(&teacher, &student, Reduction::Mean)?.item().unwrap();
/// assert!((d - (0.25 * 0.5f64.ln() + 0.75 * 1.5f64.ln())).abs() < 1e-15);
/// # Ok::<(), autograd::Error>(())
/// ```
impl<'t, F: Float> KlDivergence<Categorical<'t, F>> for Categorical<'t, F> {
    type Output = Result<Var<'t, F>>;

    fn kl_divergence(&self, p: &Categorical<'t, F>, reduction: Reduction) -> Self::Output {
        const OP: &str = "kl (categorical)";
        self.log_probs.same_tape(&p.log_probs, OP)?;
        check_same(OP, &self.log_probs.shape(), &p.log_probs.shape())?;
        let terms = self.probs().try_mul(self.log_probs.try_sub(p.log_probs)?)?;
        Ok(reduction.scale(terms.sum(), self.rows()))
    }
}
