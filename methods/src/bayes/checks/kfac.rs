//! Matrix-normal (K-FAC) conditioning in Kronecker factors against the dense theorem.

use ndarray::{Array1, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{random_spd, CheckKind, CheckOutcome};
use crate::bayes::alignment::{align, Removal};
use crate::bayes::gaussian::{condition, DenseGaussian, Form};
use crate::bayes::linalg::Jitter;
use crate::bayes::matrix_normal::MatrixNormal;
use crate::bayes::posterior::{Structured, WeightGaussian};
use crate::{Error, Result};

/// The random instances.
#[derive(Clone, Debug, PartialEq)]
pub struct KfacCheckConfig {
    /// Random matrix-normal layers per form. Default 10.
    pub instances: usize,
    /// Seed. Default 5.
    pub seed: u64,
    /// Pass when the largest difference, relative to the largest entry compared, is at most this.
    /// Default 1e-10: both sides are Cholesky solves on matrices with condition numbers ≲ 100
    /// (factors `$\mathrm{BB}^{\top}/n + 0.2 I$`, Kronecker products ≲ 10⁴), so rounding is ≲
    /// `$\kappa \cdot d \cdot 1.1e-16 \approx 1e-12$`; a wrong factor update is off by O(1).
    pub tolerance: f64,
}

impl Default for KfacCheckConfig {
    fn default() -> Self {
        KfacCheckConfig {
            instances: 10,
            seed: 5,
            tolerance: 1e-10,
        }
    }
}

fn normal(rng: &mut StdRng, r: usize, c: usize) -> Array2<f64> {
    Array2::from_shape_simple_fn((r, c), || rng.sample::<f64, _>(StandardNormal))
}

/// `$\max|a - b|$` and `max |b|` over the means and matrices of two Gaussians.
fn differences(a: &DenseGaussian, b: &DenseGaussian) -> (f64, f64) {
    let mut diff: f64 = 0.0;
    let mut scale: f64 = 0.0;
    for (x, y) in a.mean.iter().zip(&b.mean) {
        diff = diff.max((x - y).abs());
        scale = scale.max(y.abs());
    }
    let d = a.dim();
    for j in 0..d {
        for i in 0..d {
            let (x, y) = (a.matrix[(i, j)], b.matrix[(i, j)]);
            diff = diff.max((x - y).abs());
            scale = scale.max(y.abs());
        }
    }
    if diff.is_nan() {
        return (f64::NAN, scale);
    }
    (diff, scale)
}

/// Two checks in one outcome.
///
/// 1. On `instances` random `$4 \times 5$` matrix normals per form (covariance, precision), rows
///    `{1, 3}` and then column `{0}` are conditioned on random values by
///    [`MatrixNormal::condition_rows`] / [`MatrixNormal::condition_cols`] (the closed form in the
///    factors), and compared with [`condition`] on the dense `$U \otimes V$` (or `$P \otimes Q$`)
///    with the same 11 coordinates removed at once.
/// 2. A K-FAC posterior over `[2, 3, 3, 2]` is aligned to `[2, 2, 2]` (a neuron of each hidden
///    layer, then the square middle layer) by [`WeightGaussian::condition_on`], and compared
///    with the same alignment of its densified (block-diagonal `$P_l \otimes Q_l$`) full form.
///
/// Measured: the largest difference of means and matrices relative to the largest entry.
pub fn check_kfac_conditioning(cfg: &KfacCheckConfig) -> Result<CheckOutcome> {
    if cfg.instances == 0 {
        return Err(Error::config(
            "K-FAC conditioning check",
            "needs ≥ 1 instance",
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut worst: f64 = 0.0;
    let mut detail = String::new();
    for form in [Form::Covariance, Form::Precision] {
        let mut form_worst: f64 = 0.0;
        for _ in 0..cfg.instances {
            let mn = MatrixNormal::new(
                normal(&mut rng, 4, 5),
                random_spd(4, 0.2, &mut rng),
                random_spd(5, 0.2, &mut rng),
                form,
            )?;
            let row_values = normal(&mut rng, 2, 5);
            let col_values = normal(&mut rng, 2, 1);
            let (rows, _) = mn.condition_rows(&[1, 3], row_values.view(), Jitter::Never)?;
            let (both, _) = rows.condition_cols(&[0], col_values.view(), Jitter::Never)?;
            // dense: rows 1 and 3 (indices 5..10, 15..20), then column 0 of kept rows 0, 2
            let mut removed: Vec<usize> = (5..10).chain(15..20).collect();
            let mut values: Vec<f64> = row_values.iter().copied().collect();
            removed.extend([0, 10]);
            values.extend(col_values.iter().copied());
            let dense = condition(
                &mn.to_dense(),
                &removed,
                Array1::from(values).view(),
                Jitter::Never,
            )?;
            let (diff, scale) = differences(&both.to_dense(), &dense.gaussian);
            let rel = diff / scale;
            form_worst = if rel.is_nan() {
                f64::NAN
            } else {
                form_worst.max(rel)
            };
        }
        detail.push_str(&format!(
            "{form:?} form, {} random 4×5 layers, rows {{1, 3}} then column {{0}}: max relative \
             difference {form_worst:.2e}\n",
            cfg.instances
        ));
        worst = if form_worst.is_nan() {
            f64::NAN
        } else {
            worst.max(form_worst)
        };
    }
    // the aligned prior of a K-FAC posterior
    let sizes = [2, 3, 3, 2];
    let layers = (0..3)
        .map(|l| {
            MatrixNormal::new(
                normal(&mut rng, sizes[l + 1], sizes[l]),
                random_spd(sizes[l + 1], 0.2, &mut rng),
                random_spd(sizes[l], 0.2, &mut rng),
                Form::Precision,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let kfac = WeightGaussian::new(sizes.to_vec(), Structured::Kfac(layers))?;
    let full = WeightGaussian::new(
        sizes.to_vec(),
        Structured::Full(kfac.to_dense(Form::Precision)?),
    )?;
    let removals = [
        Removal::Neurons {
            layer: 0,
            neurons: vec![0],
        },
        Removal::Neurons {
            layer: 1,
            neurons: vec![2],
        },
        Removal::Layer { layer: 1 },
    ];
    let alignment = align(&sizes, &removals, true)?;
    let a = kfac
        .condition_on(&alignment, Jitter::Never)?
        .prior
        .to_dense(Form::Precision)?;
    let b = full
        .condition_on(&alignment, Jitter::Never)?
        .prior
        .to_dense(Form::Precision)?;
    let (diff, scale) = differences(&a, &b);
    let rel = diff / scale;
    detail.push_str(&format!(
        "K-FAC posterior over {sizes:?} aligned to {:?} (φ, φ, ψ) vs its dense form aligned: max \
         relative difference {rel:.2e}\ntolerance {:.0e}",
        alignment.sizes(),
        cfg.tolerance
    ));
    worst = if rel.is_nan() {
        f64::NAN
    } else {
        worst.max(rel)
    };
    Ok(CheckOutcome {
        name: "bayes-kfac-conditioning".into(),
        kind: CheckKind::Property,
        statement: "matrix-normal conditioning on rows/columns in Kronecker factors (row factor → \
                    Schur complement, column factor unchanged) = the dense theorem on U ⊗ V; the \
                    K-FAC aligned prior = the dense aligned prior"
            .into(),
        measured: worst,
        tolerance: cfg.tolerance,
        passed: worst <= cfg.tolerance,
        detail,
    })
}
