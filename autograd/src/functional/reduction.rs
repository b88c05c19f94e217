//! [`Reduction`]: the one choice every batch loss makes, sum or mean over the rows.

use std::fmt;

use crate::float::Float;
use crate::tape::Var;

/// How a batch loss turns its per-row losses `ℓ_i` into one number.
///
/// The **rows** are the entries of axis 0, the batch axis: one object (one example, one
/// distribution of a batch) per row. A row's loss `ℓ_i` is the sum over all its other axes
/// (classes, features, latent dimensions), so it is the object's own negative log-likelihood or
/// divergence; a 0-dimensional input is one row. Every loss of the workspace takes one of these,
/// so the seeds' sums and the batch means are one word apart:
///
/// | variant | value | where it comes from |
/// |---|---|---|
/// | [`Reduction::Sum`] | `Σ_i ℓ_i` | the seeds' formulas, written as sums over the objects |
/// | [`Reduction::Mean`] (default) | `(1/B) Σ_i ℓ_i` | the batch mean of every training loop, so the batch size does not scale the step |
///
/// The two differ by the factor `B` only: same minimiser, same direction of every gradient.
/// An empty batch (`B = 0`) has mean 0, as [`Var::mean`].
///
/// ```
/// use autograd::functional::{cross_entropy, Reduction};
/// use autograd::Tape;
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// // softmax of each row is (1/4, 3/4); the labels pick 3/4 then 1/4.
/// let z = tape.constant(array![[0.0, 3f64.ln()], [0.0, 3f64.ln()]]);
/// let sum = cross_entropy(z, &[1, 0], Reduction::Sum)?.item().unwrap();
/// let mean = cross_entropy(z, &[1, 0], Reduction::Mean)?.item().unwrap();
/// assert!((sum - (4f64 / 3.0).ln() - 4f64.ln()).abs() < 1e-12);
/// assert!((mean - sum / 2.0).abs() < 1e-12);
/// assert_eq!(Reduction::default(), Reduction::Mean);
/// # Ok::<(), autograd::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// `Σ_i ℓ_i`, the sum over the rows: the seeds' formulas as written.
    Sum,
    /// `(1/B) Σ_i ℓ_i`, the mean over the `B` rows. The default: the usual batch loss.
    #[default]
    Mean,
}

impl Reduction {
    /// The factor that multiplies `Σ_i ℓ_i` for a batch of `rows` rows: 1 (`Sum`) or `1/rows`
    /// (`Mean`; 0 for an empty batch).
    ///
    /// ```
    /// use autograd::functional::Reduction;
    /// assert_eq!(Reduction::Sum.factor(4), 1.0);
    /// assert_eq!(Reduction::Mean.factor(4), 0.25);
    /// ```
    pub fn factor(self, rows: usize) -> f64 {
        match self {
            Reduction::Sum => 1.0,
            Reduction::Mean => 1.0 / rows.max(1) as f64,
        }
    }

    /// Reduces elementwise loss terms whose axis 0 is the rows: the sum of every element, times
    /// [`factor`](Reduction::factor) of the length of axis 0 (one row for a 0-d input). Each
    /// row's loss is the sum of its elements, so `terms` need not be summed per row first.
    ///
    /// ```
    /// use autograd::functional::Reduction;
    /// use autograd::Tape;
    /// use ndarray::array;
    ///
    /// let tape = Tape::<f64>::new();
    /// let terms = tape.constant(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]); // rows: 6 and 15
    /// assert_eq!(Reduction::Sum.reduce(terms).item(), Some(21.0));
    /// assert_eq!(Reduction::Mean.reduce(terms).item(), Some(10.5));
    /// ```
    pub fn reduce<'t, F: Float>(self, terms: Var<'t, F>) -> Var<'t, F> {
        let rows = terms.shape().first().copied().unwrap_or(1);
        self.scale(terms.sum(), rows)
    }

    /// `total · factor(rows)`: the reduction of a loss already summed over its `rows` rows
    /// (for losses whose terms are not laid out one row per object, e.g. a term over a subset).
    ///
    /// ```
    /// use autograd::functional::Reduction;
    /// use autograd::Tape;
    ///
    /// let tape = Tape::<f64>::new();
    /// let total = tape.scalar(12.0);
    /// assert_eq!(Reduction::Mean.scale(total, 4).item(), Some(3.0));
    /// assert_eq!(Reduction::Sum.scale(total, 4).item(), Some(12.0));
    /// ```
    pub fn scale<'t, F: Float>(self, total: Var<'t, F>, rows: usize) -> Var<'t, F> {
        match self {
            Reduction::Sum => total,
            Reduction::Mean => total.mul_scalar(self.factor(rows)),
        }
    }
}

impl fmt::Display for Reduction {
    /// `"sum over rows"` or `"mean over rows"`, for run reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reduction::Sum => "sum over rows",
            Reduction::Mean => "mean over rows",
        })
    }
}
