//! Synthetic data for privileged-information distillation (beyond the seed): the teacher sees
//! clean features, the student the same features with noise.
//!
//! This is the classic "clean features as privileged information" setting of generalised
//! distillation (Lopez-Paz et al., 2016), written from its description:
//!
//! * `$\alpha \sim \mathcal{N}(0, I_d)$`, a fixed direction;
//! * per object: privileged (clean) features `$x^{*}_i \sim \mathcal{N}(0, I_d)$`, label `$y_i =
//!   [\alpha^{\top}x^{*}_i / \|\alpha \| + \delta_i > 0]$` with `$\delta_i \sim \mathcal{N}(0,
//!   \tau^{2})$` (`$\tau$` = `label_noise_std`), and the student's features `$x_i = x^{*}_i + \nu
//!   \varepsilon_i$`, `$\varepsilon_i \sim \mathcal{N}(0, I_d)$` (`$\nu$` = `noise_std`);
//! * `I`: a uniformly random subset of the training objects of size `$\mathrm{round}(\rho n)$`
//!   (`$\rho$` = `privileged_fraction`): only they have `x*` (hence a teacher answer).
//!
//! With `$\nu = 0$` the student sees what the teacher sees and the teacher can add nothing beyond
//! the labels; as `$\nu$` grows the labels become noisier functions of `x` while the teacher,
//! trained on `x*`, stays accurate — the regime where its soft answers should help most.

use ndarray::{Array1, Array2};
use nn::data::Dataset;
use rand::seq::index::sample;
use rand::Rng;
use rand_distr::StandardNormal;

use crate::distill::index_set::IndexSet;
use crate::{Error, Result};

/// The sizes and noise levels of the privileged-information data.
#[derive(Clone, Debug, PartialEq)]
pub struct PrivilegedDataConfig {
    /// `d`, features of both views. Default 50 (our choice; the order of Lopez-Paz et al.'s
    /// synthetic experiments).
    pub features: usize,
    /// Training objects `n`. Default 200: small, so that the student is data-starved.
    pub train: usize,
    /// Test objects. Default 1000.
    pub test: usize,
    /// `$\nu$`, the standard deviation of the noise on the student's features. Default 1 (as
    /// large as the signal per feature).
    pub noise_std: f64,
    /// `$\tau$`, the standard deviation of the noise in the label's margin. Default 0 (labels a
    /// deterministic function of `x*`).
    pub label_noise_std: f64,
    /// `$\rho = |I| / n$`. Default 1 (every training object has its privileged features).
    pub privileged_fraction: f64,
}

impl Default for PrivilegedDataConfig {
    fn default() -> Self {
        PrivilegedDataConfig {
            features: 50,
            train: 200,
            test: 1000,
            noise_std: 1.0,
            label_noise_std: 0.0,
            privileged_fraction: 1.0,
        }
    }
}

/// The generated data: both views of the training and test objects.
#[derive(Clone, Debug, PartialEq)]
pub struct PrivilegedData<F> {
    /// `$\alpha$`, the true direction.
    pub alpha: Array1<F>,
    /// The student's training set: noisy features `x` and labels (2 classes).
    pub train: Dataset<F>,
    /// `x*` of the training objects in `I`, one row per element of `I` in ascending order (the
    /// teacher's training inputs, and the inputs of its answers `$s_i = f(x^{*}_i)$`).
    pub train_privileged: Array2<F>,
    /// The training objects that have privileged features.
    pub index: IndexSet,
    /// The test set seen by the student: noisy features and labels.
    pub test: Dataset<F>,
    /// `x*` of the test objects (to evaluate the teacher).
    pub test_privileged: Array2<F>,
}

/// One split: clean features, noisy features, labels. Per object draws `x*` (d values),
/// then `$\varepsilon$` (d values), then `$\delta$`.
fn draw_split<R: Rng + ?Sized>(
    cfg: &PrivilegedDataConfig,
    alpha: &Array1<f64>,
    m: usize,
    rng: &mut R,
) -> (Array2<f64>, Array2<f64>, Vec<usize>) {
    let d = cfg.features;
    let norm = alpha.dot(alpha).sqrt();
    let mut clean = Array2::zeros((m, d));
    let mut noisy = Array2::zeros((m, d));
    let mut labels = Vec::with_capacity(m);
    for i in 0..m {
        for j in 0..d {
            clean[[i, j]] = rng.sample::<f64, _>(StandardNormal);
        }
        for j in 0..d {
            noisy[[i, j]] = clean[[i, j]] + cfg.noise_std * rng.sample::<f64, _>(StandardNormal);
        }
        let delta = cfg.label_noise_std * rng.sample::<f64, _>(StandardNormal);
        let margin = clean.row(i).dot(alpha) / norm + delta;
        labels.push(usize::from(margin > 0.0));
    }
    (clean, noisy, labels)
}

impl PrivilegedDataConfig {
    /// Checks the sizes and noise levels.
    pub fn validate(&self) -> Result<()> {
        if self.features == 0 || self.train == 0 {
            return Err(Error::config(
                "privileged data",
                "needs at least one feature and one training object",
            ));
        }
        for (what, v) in [
            ("privileged data noise_std", self.noise_std),
            ("privileged data label_noise_std", self.label_noise_std),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(
                    what,
                    format!("must be finite and ≥ 0, got {v}"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.privileged_fraction) {
            return Err(Error::config(
                "privileged data privileged_fraction",
                format!("must lie in [0, 1], got {}", self.privileged_fraction),
            ));
        }
        Ok(())
    }

    /// Draws, in this order: `$\alpha$`, the training split, the test split (see `draw_split`),
    /// then the index set `I` (`rand::seq::index::sample` of `$\mathrm{round}(\rho n)$` out of
    /// `n`).
    pub fn generate<F: autograd::Float, R: Rng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<PrivilegedData<F>> {
        self.validate()?;
        let alpha =
            Array1::from_shape_simple_fn(self.features, || rng.sample::<f64, _>(StandardNormal));
        let (train_clean, train_noisy, train_y) = draw_split(self, &alpha, self.train, rng);
        let (test_clean, test_noisy, test_y) = draw_split(self, &alpha, self.test, rng);
        let size = (self.privileged_fraction * self.train as f64).round() as usize;
        let mut chosen = sample(rng, self.train, size).into_vec();
        // Ascending, as documented for `train_privileged` (an `IndexSet` keeps the order given).
        chosen.sort_unstable();
        let index = IndexSet::from_indices(self.train, &chosen)?;
        let privileged_rows = train_clean.select(ndarray::Axis(0), index.indices());
        let cast = |a: &Array2<f64>| a.mapv(F::from_f64);
        Ok(PrivilegedData {
            alpha: alpha.mapv(F::from_f64),
            train: Dataset::new(cast(&train_noisy), train_y.into())?.with_classes(2)?,
            train_privileged: cast(&privileged_rows),
            index,
            test: Dataset::new(cast(&test_noisy), test_y.into())?.with_classes(2)?,
            test_privileged: cast(&test_clean),
        })
    }
}
