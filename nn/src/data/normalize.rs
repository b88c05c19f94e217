//! Standardisation of features, with statistics fitted on the training part only and then
//! applied unchanged to the other parts (validation, test), so no information leaks from them.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use num_traits::Float;

use super::dataset::Dataset;
use super::error::{DataError, Result};

/// Over what the statistics are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One mean and standard deviation per feature (column).
    PerFeature,
    /// One mean and standard deviation over all entries (e.g. all pixels of all images).
    Global,
}

/// A standard deviation below this is treated as zero: the feature is constant on the training
/// data (MNIST's border pixels are always 0), and dividing by it would blow up. Such a feature
/// is centred but not scaled (scale 1).
pub const MIN_STD: f64 = 1e-8;

/// The affine map `$x'_{ij} = (x_{ij} - \mu_j) / \sigma_j$`.
///
/// Per feature: `$\mu_j = \frac{1}{n} \sum_i x_{ij}$`, `$\sigma_j = \operatorname{sqrt} ((1/n)
/// \sum_i (x_{ij} - \mu_j)^{2})$` (the population standard deviation). Global: the same over all
/// `$n\cdot d$` entries, and every `$\mu_j$`, `$\sigma_j$` equal. `σ_j < MIN_STD` is replaced by 1.
/// Sums are accumulated in f64 (two passes) whatever `F` is.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer<F> {
    scope: Scope,
    mean: Array1<F>,
    scale: Array1<F>,
}

impl<F: Float> Standardizer<F> {
    /// Fits the statistics on `x` (n × d, the training features). Errors when `x` has no rows.
    pub fn fit(x: ArrayView2<'_, F>, scope: Scope) -> Result<Self> {
        let (n, d) = x.dim();
        if n == 0 {
            return Err(DataError::InvalidArgument(
                "cannot fit normalisation statistics on zero samples".to_owned(),
            ));
        }
        let f64_of = |v: &F| v.to_f64().unwrap_or(f64::NAN);
        let (mean, std): (Vec<f64>, Vec<f64>) = match scope {
            Scope::PerFeature => x
                .axis_iter(Axis(1))
                .map(|col| mean_std(col.iter().map(f64_of), n))
                .unzip(),
            Scope::Global => {
                let (m, s) = mean_std(x.iter().map(f64_of), n * d);
                (vec![m; d], vec![s; d])
            }
        };
        let to_f = |v: f64| F::from(v).unwrap_or_else(F::nan);
        Ok(Standardizer {
            scope,
            mean: mean.into_iter().map(to_f).collect(),
            scale: std
                .into_iter()
                .map(|s| to_f(if s < MIN_STD { 1.0 } else { s }))
                .collect(),
        })
    }

    /// Fits on a data set's features.
    pub fn fit_dataset<Y: Clone>(data: &Dataset<F, Y>, scope: Scope) -> Result<Self> {
        Self::fit(data.x().view(), scope)
    }

    /// How the statistics were taken.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The means `$\mu_j$` (length d).
    pub fn mean(&self) -> &Array1<F> {
        &self.mean
    }

    /// The divisors `$\sigma_j$` (length d; 1 for constant features).
    pub fn scale(&self) -> &Array1<F> {
        &self.scale
    }

    /// Applies the map in place. Errors when `x` has a different number of features.
    pub fn transform(&self, x: &mut Array2<F>) -> Result<()> {
        self.check_width(x.ncols())?;
        self.apply(x);
        Ok(())
    }

    /// Applies the map to a data set's features.
    pub fn transform_dataset<Y: Clone>(&self, data: Dataset<F, Y>) -> Result<Dataset<F, Y>> {
        self.check_width(data.dim())?;
        data.map_x(|mut x| {
            self.apply(&mut x);
            x
        })
    }

    fn check_width(&self, d: usize) -> Result<()> {
        if d == self.mean.len() {
            return Ok(());
        }
        Err(DataError::InvalidArgument(format!(
            "normalisation was fitted on {} features, the data has {d}",
            self.mean.len()
        )))
    }

    fn apply(&self, x: &mut Array2<F>) {
        for mut row in x.axis_iter_mut(Axis(0)) {
            Zip::from(&mut row)
                .and(&self.mean)
                .and(&self.scale)
                .for_each(|v, &m, &s| *v = (*v - m) / s);
        }
    }
}

/// Mean and population standard deviation of `count` values, in two passes over a cloneable
/// iterator.
fn mean_std(values: impl Iterator<Item = f64> + Clone, count: usize) -> (f64, f64) {
    let n = count.max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn per_feature_statistics_match_a_hand_computation() {
        // Column 0: 1, 3, 5 → mean 3, variance (4 + 0 + 4)/3 = 8/3.
        // Column 1: 2, 2, 2 → constant → mean 2, scale 1.
        let x = array![[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]];
        let st = Standardizer::fit(x.view(), Scope::PerFeature).unwrap();
        assert_eq!(st.mean(), &array![3.0, 2.0]);
        assert!((st.scale()[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(st.scale()[1], 1.0);
        let mut y = x.clone();
        st.transform(&mut y).unwrap();
        let s = (8.0f64 / 3.0).sqrt();
        let expected = array![[-2.0 / s, 0.0], [0.0, 0.0], [2.0 / s, 0.0]];
        assert!(
            y.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{y}"
        );
    }

    #[test]
    fn transformed_training_data_has_zero_mean_and_unit_variance() {
        let x = Array2::from_shape_fn((50, 3), |(i, j)| {
            ((i * 7 + j * 13) % 11) as f32 * 0.3 + j as f32
        });
        for scope in [Scope::PerFeature, Scope::Global] {
            let st = Standardizer::fit(x.view(), scope).unwrap();
            let mut y = x.clone();
            st.transform(&mut y).unwrap();
            let again = Standardizer::fit(y.view(), scope).unwrap();
            assert!(
                again.mean().iter().all(|m| m.abs() < 1e-5),
                "{scope:?} {}",
                again.mean()
            );
            assert!(
                again.scale().iter().all(|s| (s - 1.0).abs() < 1e-5),
                "{scope:?}"
            );
        }
    }

    #[test]
    fn global_statistics_pool_all_entries() {
        // Entries 0, 2, 4, 6: mean 3, variance (9 + 1 + 1 + 9)/4 = 5.
        let x = array![[0.0, 2.0], [4.0, 6.0]];
        let st = Standardizer::fit(x.view(), Scope::Global).unwrap();
        assert_eq!(st.mean(), &array![3.0, 3.0]);
        assert!((st.scale()[1] - 5.0f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn statistics_of_the_training_part_are_applied_to_the_test_part() {
        let train = Dataset::new(array![[0.0], [2.0]], array![0usize, 1]).unwrap();
        let test = Dataset::new(array![[4.0]], array![1usize]).unwrap();
        let st = Standardizer::fit_dataset(&train, Scope::PerFeature).unwrap();
        // mean 1, std 1 → 4 ↦ 3 (not 0, which refitting on the test part would give).
        let test = st.transform_dataset(test).unwrap();
        assert_eq!(test.x()[[0, 0]], 3.0);
    }

    #[test]
    fn errors_on_empty_data_and_wrong_width() {
        let empty = Array2::<f64>::zeros((0, 3));
        assert!(Standardizer::fit(empty.view(), Scope::Global).is_err());
        let st = Standardizer::fit(array![[1.0, 2.0]].view(), Scope::PerFeature).unwrap();
        let mut wrong = Array2::<f64>::zeros((1, 3));
        assert!(st.transform(&mut wrong).is_err());
        let data = Dataset::new(wrong, array![0usize]).unwrap();
        assert!(st.transform_dataset(data).is_err());
    }
}
