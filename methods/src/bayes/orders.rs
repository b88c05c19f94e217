//! The four removal orders of the seed, as scores of the teacher's hidden neurons (a higher
//! score is removed first; see [`plan`](super::alignment::plan)).
//!
//! The seed states each order for a single weight `j`; a neuron removal deletes a set `S` of
//! weights (its incoming row and outgoing column), so each order is lifted to sets as stated
//! in its variant. Scores are computed once at the teacher's posterior (one shot), not
//! recomputed after each removal: a greedy re-ranking would refactor the conditioned
//! posterior after every neuron.

use faer::{Mat, Side};
use ndarray::Array1;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::alignment::{layer_offsets, NeuronScores};
use super::gaussian::Form;
use super::linalg::{cholesky, spd_inverse, submatrix, Jitter, DEFAULT_JITTER};
use super::posterior::{kfac_precision, Structured, WeightGaussian};
use crate::{Error, Result};

/// Which neurons go first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalOrder {
    /// Uniformly random (scores `U[0, 1)` from `seed`).
    Random {
        /// The seed of the scores.
        seed: u64,
    },
    /// Optimal brain damage (LeCun et al. 1990): the seed's `$\xi = \operatorname{argmin} _j h_{jj}
    /// u_j^{2}/2$`, a weight's saliency under a diagonal quadratic model of the loss; a neuron's
    /// saliency is the sum over its weights (the diagonal model's cost of zeroing all of them).
    /// Score `$-\sum_{j\in S} h_{jj} u_j^{2}/2$`: the least salient neuron goes first.
    OptimalBrainDamage,
    /// Posterior density ratio: the seed's `$\xi = \operatorname{argmax} _j p(0 | X, y) / p(u_j |
    /// X, y)$`, the marginal posterior density at zero against that at the mode. For a set `S` the
    /// joint marginal `$\mathcal{N}(u0_S, \Sigma_{SS})$` gives `$\ln[p(0)/p(u0_S)] = -\tfrac{1}{2}
    /// u0_S^{\top} \Sigma_{SS}^{-1} u0_S$`: the score (the neuron whose weights are most plausibly
    /// zero goes first).
    DensityRatio,
    /// Belsley's collinearity diagnostic on the posterior covariance (the seed: `$\xi =
    /// \operatorname{argmax} _j \lambda_{\max} / \lambda_j$`, `$\lambda$` the singular values of
    /// the covariance). Reading: with `$\sum = V \operatorname{diag} (\lambda) V^{\top}$`, each
    /// direction `k` has the condition index `$\eta_k = \lambda_{\max} / \lambda_k$`, and weight
    /// `j` is tied to the direction that dominates Belsley's variance-decomposition proportions
    /// `$\pi_{jk} \propto v_{jk}^{2} / \lambda_k^{2}$` (`$\Sigma$` in the role of Belsley's design
    /// matrix): its score is `$\eta_{k(j)}$`, `$k(j) = \operatorname{argmax} _k \pi_{jk}$`. A large
    /// index marks a weight caught in a near-deterministic relation with others
    /// (`$\operatorname{Var} (v^{\top}u) = \lambda_k$` tiny), whose removal the conditioning
    /// compensates through the others. A neuron scores the largest of its weights.
    Belsley,
}

impl RemovalOrder {
    /// A short name: `random`, `obd`, `density-ratio`, `belsley`.
    pub fn name(&self) -> &'static str {
        match self {
            RemovalOrder::Random { .. } => "random",
            RemovalOrder::OptimalBrainDamage => "obd",
            RemovalOrder::DensityRatio => "density-ratio",
            RemovalOrder::Belsley => "belsley",
        }
    }
}

/// The weight indices of neuron `j` of hidden layer `h`: row `j` of layer `h`, column `j` of
/// layer `h + 1`.
pub fn neuron_weights(sizes: &[usize], h: usize, j: usize) -> Vec<usize> {
    let (offsets, _) = layer_offsets(sizes);
    let (inp, next_in, next_out) = (sizes[h], sizes[h + 1], sizes[h + 2]);
    let mut out: Vec<usize> = (0..inp).map(|c| offsets[h] + j * inp + c).collect();
    out.extend((0..next_out).map(|r| offsets[h + 1] + r * next_in + j));
    out
}

/// Scores of every hidden neuron of the teacher under `order`, from its posterior.
///
/// `hessian_diagonal` is OBD's `$h_{jj}$` (e.g. the exact Hessian diagonal from Hessian-vector
/// products, or a Hutchinson estimate); when `None`, OBD uses the posterior precision's diagonal
/// (the curvature plus `$\alpha$`). Costs: density ratio with a full precision needs `$L^{-1}$`
/// (`$P^{3}/3$` flops, a second `$P \times P$` matrix); Belsley with a full matrix an
/// eigendecomposition (`$\approx 9P^{3}$` flops: minutes for `$P = 6050$`).
pub fn neuron_scores(
    order: RemovalOrder,
    posterior: &WeightGaussian,
    hessian_diagonal: Option<&Array1<f64>>,
) -> Result<NeuronScores> {
    let sizes = &posterior.sizes;
    let hidden: Vec<usize> = sizes[1..sizes.len() - 1].to_vec();
    let per_neuron = |f: &mut dyn FnMut(&[usize]) -> Result<f64>| -> Result<NeuronScores> {
        hidden
            .iter()
            .enumerate()
            .map(|(h, &n)| (0..n).map(|j| f(&neuron_weights(sizes, h, j))).collect())
            .collect()
    };
    let u = posterior.mean();
    match order {
        RemovalOrder::Random { seed } => {
            let mut rng = StdRng::seed_from_u64(seed);
            Ok(hidden
                .iter()
                .map(|&n| (0..n).map(|_| rng.gen::<f64>()).collect())
                .collect())
        }
        RemovalOrder::OptimalBrainDamage => {
            let h = match hessian_diagonal {
                Some(h) if h.len() == u.len() => h.clone(),
                Some(h) => {
                    return Err(Error::config(
                        "optimal brain damage",
                        format!(
                            "{} Hessian diagonal entries for {} weights",
                            h.len(),
                            u.len()
                        ),
                    ))
                }
                None => posterior.precision_diagonal()?,
            };
            per_neuron(&mut |s| Ok(-s.iter().map(|&j| 0.5 * h[j] * u[j] * u[j]).sum::<f64>()))
        }
        RemovalOrder::DensityRatio => density_ratio(posterior, &u, &per_neuron),
        RemovalOrder::Belsley => {
            let w = belsley_weights(posterior)?;
            per_neuron(&mut |s| Ok(s.iter().map(|&j| w[j]).fold(f64::NEG_INFINITY, f64::max)))
        }
    }
}

type PerNeuron<'a> = dyn Fn(&mut dyn FnMut(&[usize]) -> Result<f64>) -> Result<NeuronScores> + 'a;

/// `$-\tfrac{1}{2} u0_S^{\top} \Sigma_{SS}^{-1} u0_S$` per neuron, `$\Sigma_{SS}$` the marginal
/// covariance of its weights.
fn density_ratio(
    posterior: &WeightGaussian,
    u: &Array1<f64>,
    per_neuron: &PerNeuron<'_>,
) -> Result<NeuronScores> {
    let mahalanobis = |sigma_ss: &Mat<f64>, s: &[usize]| -> Result<f64> {
        let chol = cholesky(
            sigma_ss,
            "a neuron's marginal posterior covariance",
            DEFAULT_JITTER,
        )?;
        let v = Mat::from_fn(s.len(), 1, |i, _| u[s[i]]);
        let z = chol.solve_lower(&v);
        Ok((0..s.len()).map(|i| z[(i, 0)] * z[(i, 0)]).sum())
    };
    match &posterior.dist {
        Structured::Diagonal(g) => per_neuron(&mut |s| {
            Ok(-0.5 * s.iter().map(|&j| g.precision[j] * u[j] * u[j]).sum::<f64>())
        }),
        Structured::Full(g) => match g.form {
            Form::Covariance => {
                per_neuron(&mut |s| Ok(-0.5 * mahalanobis(&submatrix(&g.matrix, s, s), s)?))
            }
            Form::Precision => {
                // Σ = Λ⁻¹ = L⁻ᵀ L⁻¹, so Σ_SS = X_Sᵀ X_S with X = L⁻¹ (columns S)
                let chol = cholesky(&g.matrix, "the posterior precision", Jitter::Never)?;
                let p = g.dim();
                let x = chol.solve_lower(&Mat::identity(p, p));
                per_neuron(&mut |s| {
                    let xs = Mat::from_fn(p, s.len(), |i, k| x[(i, s[k])]);
                    let sigma_ss = xs.transpose() * &xs;
                    Ok(-0.5 * mahalanobis(&sigma_ss, s)?)
                })
            }
        },
        Structured::Kfac(layers) => {
            // row j of layer l ~ N(M_j, (P⁻¹)_jj Q⁻¹): Mahalanobis m_jᵀ Q m_j / (P⁻¹)_jj;
            // column j of layer l+1 ~ N(M_:j, (Q⁻¹)_jj P⁻¹): m_jᵀ P m_j / (Q⁻¹)_jj
            let prec: Vec<_> = layers.iter().map(kfac_precision).collect::<Result<_>>()?;
            let inv_diag = |m: &Mat<f64>, what: &str| -> Result<Vec<f64>> {
                let inv = spd_inverse(m, what)?;
                Ok((0..m.nrows()).map(|i| inv[(i, i)]).collect())
            };
            let mut row_inv = Vec::new();
            let mut col_inv = Vec::new();
            for (l, m) in prec.iter().enumerate() {
                row_inv.push(inv_diag(
                    &m.row,
                    &format!("the K-FAC row factor of layer {l}"),
                )?);
                col_inv.push(inv_diag(
                    &m.col,
                    &format!("the K-FAC column factor of layer {l}"),
                )?);
            }
            let hidden = posterior.sizes.len() - 2;
            (0..hidden)
                .map(|h| {
                    let (a, b) = (&prec[h], &prec[h + 1]);
                    (0..a.mean.nrows())
                        .map(|j| {
                            let row = a.mean.row(j);
                            let q_row: f64 = (0..row.len())
                                .map(|c| {
                                    row[c]
                                        * (0..row.len())
                                            .map(|d| a.col[(c, d)] * row[d])
                                            .sum::<f64>()
                                })
                                .sum();
                            let col = b.mean.column(j);
                            let p_col: f64 = (0..col.len())
                                .map(|r| {
                                    col[r]
                                        * (0..col.len())
                                            .map(|d| b.row[(r, d)] * col[d])
                                            .sum::<f64>()
                                })
                                .sum();
                            -0.5 * (q_row / row_inv[h][j] + p_col / col_inv[h + 1][j])
                        })
                        .collect()
                })
                .map(Ok)
                .collect()
        }
    }
}

/// Belsley's per-weight score `$\eta_{k(j)}$` (see [`RemovalOrder::Belsley`]).
fn belsley_weights(posterior: &WeightGaussian) -> Result<Array1<f64>> {
    let eigen = |m: &Mat<f64>, what: &str| -> Result<(Vec<f64>, Mat<f64>)> {
        let e = m
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| Error::Singular {
                op: "Belsley order",
                reason: format!("the eigendecomposition of {what} did not converge ({e:?})"),
            })?;
        let n = m.nrows();
        let values = (0..n).map(|i| e.S()[i]).collect();
        Ok((values, e.U().to_owned()))
    };
    // With precision eigenvalues μ_k (λ_k = 1/μ_k): η_k = μ_k / μ_min, π_jk ∝ v_jk² μ_k².
    // With covariance eigenvalues λ_k: η_k = λ_max / λ_k, π_jk ∝ v_jk² / λ_k².
    let score = |values: &[f64], v: &Mat<f64>, form: Form| -> Result<Array1<f64>> {
        if values.iter().any(|&x| x.is_nan() || x <= 0.0) {
            return Err(Error::NotPositiveDefinite {
                what: "the posterior (Belsley order)".into(),
                reason: format!(
                    "an eigenvalue is {:.3e}",
                    values.iter().cloned().fold(f64::INFINITY, f64::min)
                ),
            });
        }
        let lambda: Vec<f64> = match form {
            Form::Precision => values.iter().map(|m| 1.0 / m).collect(),
            Form::Covariance => values.to_vec(),
        };
        let lmax = lambda.iter().cloned().fold(0.0, f64::max);
        Ok((0..v.nrows())
            .map(|j| {
                let k = (0..lambda.len())
                    .max_by(|&a, &b| {
                        let pa = v[(j, a)].powi(2) / lambda[a].powi(2);
                        let pb = v[(j, b)].powi(2) / lambda[b].powi(2);
                        pa.total_cmp(&pb)
                    })
                    .expect("at least one direction");
                lmax / lambda[k]
            })
            .collect())
    };
    match &posterior.dist {
        Structured::Full(g) => {
            let (values, v) = eigen(&g.matrix, "the posterior matrix")?;
            score(&values, &v, g.form)
        }
        Structured::Diagonal(g) => {
            let pmin = g.precision.iter().cloned().fold(f64::INFINITY, f64::min);
            Ok(g.precision.mapv(|p| p / pmin))
        }
        Structured::Kfac(layers) => {
            // Λ_l = P ⊗ Q: eigenvalues b_k1 a_k2, eigenvectors Vp[:,k1] ⊗ Vq[:,k2]; the
            // proportion v² μ² factorises, so k(r, c) = (argmax_k1 Vp[r,k1]² b_k1²,
            // argmax_k2 Vq[c,k2]² a_k2²); η relative to the smallest eigenvalue of all layers.
            let mut parts = Vec::new();
            let mut mu_min = f64::INFINITY;
            for (l, m) in layers.iter().enumerate() {
                let m = kfac_precision(m)?;
                let (b, vp) = eigen(&m.row, &format!("the K-FAC row factor of layer {l}"))?;
                let (a, vq) = eigen(&m.col, &format!("the K-FAC column factor of layer {l}"))?;
                if b[0] <= 0.0 || a[0] <= 0.0 {
                    return Err(Error::NotPositiveDefinite {
                        what: format!("the K-FAC factors of layer {l} (Belsley order)"),
                        reason: format!("smallest eigenvalues {:.3e} and {:.3e}", b[0], a[0]),
                    });
                }
                mu_min = mu_min.min(b[0] * a[0]);
                let dominant = |vals: &[f64], vecs: &Mat<f64>, i: usize| {
                    (0..vals.len())
                        .map(|k| (vecs[(i, k)].powi(2) * vals[k].powi(2), vals[k]))
                        .max_by(|x, y| x.0.total_cmp(&y.0))
                        .expect("a direction")
                        .1
                };
                let rows: Vec<f64> = (0..b.len()).map(|r| dominant(&b, &vp, r)).collect();
                let cols: Vec<f64> = (0..a.len()).map(|c| dominant(&a, &vq, c)).collect();
                parts.push((rows, cols));
            }
            Ok(parts
                .iter()
                .flat_map(|(rows, cols)| {
                    rows.iter()
                        .flat_map(move |&b| cols.iter().map(move |&a| b * a / mu_min))
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayes::gaussian::{DenseGaussian, DiagGaussian};
    use ndarray::array;

    /// `[1, 2, 1]`: weights u = (U1 = [a, b]ᵀ, U2 = [c, d]). Neuron 0 owns (0, 2), neuron 1
    /// owns (1, 3).
    #[test]
    fn obd_and_density_ratio_by_hand() {
        let mean = array![1.0, 0.1, 2.0, 0.2];
        let precision = array![1.0, 4.0, 0.5, 2.0];
        let g = DiagGaussian::new(mean.clone(), precision.clone()).unwrap();
        let post = WeightGaussian::new(vec![1, 2, 1], Structured::Diagonal(g)).unwrap();
        assert_eq!(neuron_weights(&[1, 2, 1], 0, 1), vec![1, 3]);
        // OBD: −(1·1 + 0.5·4)/2 = −1.5 and −(4·0.01 + 2·0.04)/2 = −0.06
        let obd = neuron_scores(RemovalOrder::OptimalBrainDamage, &post, None).unwrap();
        assert!((obd[0][0] + 1.5).abs() < 1e-15 && (obd[0][1] + 0.06).abs() < 1e-15);
        // density ratio on a diagonal posterior: the same numbers (½ Σ λ u²)
        let dr = neuron_scores(RemovalOrder::DensityRatio, &post, None).unwrap();
        assert_eq!(dr, obd);
        // the full form agrees with the diagonal one
        let d = 4;
        let full = DenseGaussian::new(
            mean,
            Mat::from_fn(d, d, |i, j| if i == j { precision[i] } else { 0.0 }),
            Form::Precision,
        )
        .unwrap();
        let post_full = WeightGaussian::new(vec![1, 2, 1], Structured::Full(full)).unwrap();
        let drf = neuron_scores(RemovalOrder::DensityRatio, &post_full, None).unwrap();
        for j in 0..2 {
            assert!((drf[0][j] - dr[0][j]).abs() < 1e-14);
        }
        // Belsley on a diagonal: precision / min precision, max over the neuron's weights
        let b = neuron_scores(RemovalOrder::Belsley, &post, None).unwrap();
        assert_eq!(b, vec![vec![2.0, 8.0]]);
        let bf = neuron_scores(RemovalOrder::Belsley, &post_full, None).unwrap();
        for j in 0..2 {
            assert!((bf[0][j] - b[0][j]).abs() < 1e-12, "{bf:?}");
        }
    }

    /// Two perfectly-but-for-noise collinear weights: Belsley ranks them above an
    /// independent one. Σ over (x, y, z): x, y with correlation 0.999, z independent.
    #[test]
    fn belsley_flags_collinear_weights() {
        let r = 0.999;
        let sigma = Mat::from_fn(3, 3, |i, j| match (i, j) {
            _ if i == j => 1.0,
            (0, 1) | (1, 0) => r,
            _ => 0.0,
        });
        let g = DenseGaussian::new(array![0.0, 0.0, 0.0], sigma, Form::Covariance).unwrap();
        let post = WeightGaussian::new(vec![3, 1], Structured::Full(g)).unwrap();
        let w = belsley_weights(&post).unwrap();
        // η of the difference direction: (1 + r)/(1 − r) = 1999
        assert!(
            (w[0] - 1999.0).abs() < 1e-6 && (w[1] - 1999.0).abs() < 1e-6,
            "{w}"
        );
        assert!((w[2] - (1.0 + r)).abs() < 1e-9, "{w}");
    }
}
