//! A Gaussian over an MLP's weight vector in one of three structures (full, diagonal, K-FAC),
//! and the aligned prior: that Gaussian conditioned on a sequence of removals.

use faer::Mat;
use ndarray::{Array1, Array2};

use super::alignment::{align, layer_offsets, plan, Alignment, NeuronScores, Removal};
use super::gaussian::{condition, DenseGaussian, DiagGaussian, Form};
use super::linalg::Jitter;
use super::matrix_normal::MatrixNormal;
use crate::{Error, Result};

/// How the covariance of the weight vector is structured.
#[derive(Clone, Debug)]
pub enum Structured {
    /// A dense `$P \times P$` matrix (the 6,050-weight synthetic teacher: 293 MB in f64).
    Full(DenseGaussian),
    /// Independent weights.
    Diagonal(DiagGaussian),
    /// Independent layers, each matrix normal (K-FAC): `$\sum_l (n_l^{2} + n_{l-1}^{2})$` numbers.
    Kfac(Vec<MatrixNormal>),
}

/// A Gaussian over the weight vector `u` of a no-bias MLP of sizes `sizes` (layout in
/// `super::alignment`): the teacher posterior `$\mathcal{N}(u_{0}, \Sigma_{0})$`, or the student
/// prior `p(w | A)`.
#[derive(Clone, Debug)]
pub struct WeightGaussian {
    /// `$[n_0, \dots, n_T]$`.
    pub sizes: Vec<usize>,
    /// The distribution.
    pub dist: Structured,
}

/// [`WeightGaussian::condition_on`]'s result: the student prior and the jitter it needed.
#[derive(Clone, Debug)]
pub struct Aligned {
    /// `p(w | A)`, over the student's weights (sizes [`Alignment::sizes`]).
    pub prior: WeightGaussian,
    /// The largest jitter `$\tau$` added to a factored block (0 when none was needed; see
    /// [`Jitter`]).
    pub jitter: f64,
}

impl WeightGaussian {
    /// Checks that `dist` has the dimensions of an MLP of sizes `sizes`.
    pub fn new(sizes: Vec<usize>, dist: Structured) -> Result<Self> {
        let (_, total) = layer_offsets(&sizes);
        let ok = match &dist {
            Structured::Full(g) => g.dim() == total,
            Structured::Diagonal(g) => g.dim() == total,
            Structured::Kfac(layers) => {
                layers.len() + 1 == sizes.len()
                    && layers
                        .iter()
                        .enumerate()
                        .all(|(l, m)| m.dims() == (sizes[l + 1], sizes[l]))
            }
        };
        if !ok || sizes.len() < 2 {
            return Err(Error::config(
                "weight Gaussian",
                format!("its dimensions do not match an MLP of sizes {sizes:?} ({total} weights)"),
            ));
        }
        Ok(WeightGaussian { sizes, dist })
    }

    /// The number of weights.
    pub fn dim(&self) -> usize {
        layer_offsets(&self.sizes).1
    }

    /// A short name of the structure: `"full"`, `"diagonal"` or `"kfac"`.
    pub fn structure_name(&self) -> &'static str {
        match self.dist {
            Structured::Full(_) => "full",
            Structured::Diagonal(_) => "diagonal",
            Structured::Kfac(_) => "kfac",
        }
    }

    /// The mean as a flat vector (row-major layers in order).
    pub fn mean(&self) -> Array1<f64> {
        match &self.dist {
            Structured::Full(g) => g.mean.clone(),
            Structured::Diagonal(g) => g.mean.clone(),
            Structured::Kfac(layers) => {
                layers.iter().flat_map(|m| m.mean.iter().copied()).collect()
            }
        }
    }

    /// The mean of layer `l` as an `[out, in]` matrix.
    pub fn layer_mean(&self, l: usize) -> Array2<f64> {
        if let Structured::Kfac(layers) = &self.dist {
            return layers[l].mean.clone();
        }
        let (offsets, _) = layer_offsets(&self.sizes);
        let (r, c) = (self.sizes[l + 1], self.sizes[l]);
        let mean = self.mean();
        Array2::from_shape_vec(
            (r, c),
            mean.slice(ndarray::s![offsets[l]..offsets[l] + r * c])
                .to_vec(),
        )
        .expect("r·c values")
    }

    /// The diagonal of the precision `$\Lambda = \Sigma^{-1}$` (for a dense covariance form, by a
    /// Cholesky inverse; K-FAC: `$\operatorname{diag} (P) \otimes \operatorname{diag} (Q)$`).
    pub fn precision_diagonal(&self) -> Result<Array1<f64>> {
        Ok(match &self.dist {
            Structured::Full(g) => {
                let p = g.to_form(Form::Precision)?;
                (0..p.dim()).map(|i| p.matrix[(i, i)]).collect()
            }
            Structured::Diagonal(g) => g.precision.clone(),
            Structured::Kfac(layers) => {
                let mut out = Vec::with_capacity(self.dim());
                for m in layers {
                    let m = kfac_precision(m)?;
                    let (r, c) = m.dims();
                    for i in 0..r {
                        out.extend((0..c).map(|j| m.row[(i, i)] * m.col[(j, j)]));
                    }
                }
                Array1::from(out)
            }
        })
    }

    /// The aligned prior: this Gaussian conditioned on the removals recorded in `alignment`
    /// (whose teacher must have this Gaussian's sizes).
    ///
    /// Full: one call of [`condition`] on every removed weight at once (values 0 and
    /// `vec(I)`). Diagonal: the kept coordinates (independent coordinates are not moved by
    /// conditioning others). K-FAC: layers are independent, so a layer removed by `$\psi$` just
    /// disappears, and each kept layer is conditioned on its removed rows and then its
    /// removed columns being 0 ([`MatrixNormal::condition_rows`], `condition_cols`: the
    /// closed form in the factors; the two steps equal the joint conditioning).
    pub fn condition_on(&self, alignment: &Alignment, jitter: Jitter) -> Result<Aligned> {
        if alignment.teacher() != self.sizes.as_slice() {
            return Err(Error::config(
                "aligned prior",
                format!(
                    "the alignment starts from {:?} but the Gaussian is over {:?}",
                    alignment.teacher(),
                    self.sizes
                ),
            ));
        }
        let sizes = alignment.sizes();
        let (dist, tau) = match &self.dist {
            Structured::Full(g) => {
                let (removed, values) = alignment.removed();
                let c = condition(g, &removed, Array1::from(values).view(), jitter)?;
                debug_assert_eq!(c.kept, alignment.kept());
                (Structured::Full(c.gaussian), c.jitter)
            }
            Structured::Diagonal(g) => (Structured::Diagonal(g.select(&alignment.kept())), 0.0),
            Structured::Kfac(layers) => {
                let mut out = Vec::new();
                let mut tau: f64 = 0.0;
                for (tl, rows, cols) in alignment.layers() {
                    let m = &layers[tl];
                    let (r, c) = m.dims();
                    let gone_rows: Vec<usize> = (0..r).filter(|i| !rows.contains(i)).collect();
                    let (m, t1) = m.condition_rows(
                        &gone_rows,
                        Array2::zeros((gone_rows.len(), c)).view(),
                        jitter,
                    )?;
                    let gone_cols: Vec<usize> = (0..c).filter(|j| !cols.contains(j)).collect();
                    let (m, t2) = m.condition_cols(
                        &gone_cols,
                        Array2::zeros((rows.len(), gone_cols.len())).view(),
                        jitter,
                    )?;
                    tau = tau.max(t1).max(t2);
                    out.push(m);
                }
                (Structured::Kfac(out), tau)
            }
        };
        Ok(Aligned {
            prior: WeightGaussian::new(sizes, dist)?,
            jitter: tau,
        })
    }

    /// The student prior `p(w | A)` for the architecture `student`: the removals of
    /// [`plan`] (neurons with the highest `scores` go first; layer removal needs
    /// `idempotent_activation`), applied by [`align`], then [`WeightGaussian::condition_on`].
    /// Returns the removals and the aligned prior.
    pub fn align_to(
        &self,
        student: &[usize],
        idempotent_activation: bool,
        scores: &NeuronScores,
        jitter: Jitter,
    ) -> Result<(Vec<Removal>, Aligned)> {
        let removals = plan(&self.sizes, student, idempotent_activation, scores)?;
        let alignment = align(&self.sizes, &removals, idempotent_activation)?;
        let aligned = self.condition_on(&alignment, jitter)?;
        Ok((removals, aligned))
    }

    /// The same distribution with a dense matrix in `form` (for checks and small students;
    /// K-FAC layers become diagonal blocks `$P \otimes Q$`).
    pub fn to_dense(&self, form: Form) -> Result<DenseGaussian> {
        let g = match &self.dist {
            Structured::Full(g) => g.clone(),
            Structured::Diagonal(g) => {
                let d = g.dim();
                let p = Mat::from_fn(d, d, |i, j| if i == j { g.precision[i] } else { 0.0 });
                DenseGaussian::new(g.mean.clone(), p, Form::Precision)?
            }
            Structured::Kfac(layers) => {
                let d = self.dim();
                let mut p = Mat::zeros(d, d);
                let mut o = 0;
                for m in layers {
                    let block = kfac_precision(m)?.to_dense().matrix;
                    let n = block.nrows();
                    for j in 0..n {
                        for i in 0..n {
                            p[(o + i, o + j)] = block[(i, j)];
                        }
                    }
                    o += n;
                }
                DenseGaussian::new(self.mean(), p, Form::Precision)?
            }
        };
        g.to_form(form)
    }
}

/// A matrix normal with precision factors (inverting covariance factors by Cholesky).
pub(crate) fn kfac_precision(m: &MatrixNormal) -> Result<MatrixNormal> {
    match m.form {
        Form::Precision => Ok(m.clone()),
        Form::Covariance => Ok(MatrixNormal {
            mean: m.mean.clone(),
            row: super::linalg::spd_inverse(&m.row, "the K-FAC row factor")?,
            col: super::linalg::spd_inverse(&m.col, "the K-FAC column factor")?,
            form: Form::Precision,
        }),
    }
}
