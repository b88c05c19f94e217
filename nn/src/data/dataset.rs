//! In-memory data sets: a feature matrix with one row per sample and a target per sample.
//!
//! `Dataset<F>` is a classification set (targets are class indices, `usize`);
//! `Dataset<F, F>` a regression set. `F` is `f32` for training and `f64` for checks; data read
//! from files or generated is converted once, on construction (see [`Dataset::cast`]).
//!
//! Every random operation takes the RNG explicitly: the same seed gives the same order.

use std::ops::Range;

use ndarray::{concatenate, s, Array1, Array2, Axis};
use num_traits::Float;
use rand::seq::SliceRandom;
use rand::Rng;

use super::batch::Batches;
use super::error::{DataError, Result};

/// The shape of one image: channels × height × width (row-major when flattened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Number of channels (1 for grey images).
    pub channels: usize,
    /// Number of rows.
    pub height: usize,
    /// Number of columns.
    pub width: usize,
}

impl ImageShape {
    /// The 1×28×28 grey images of MNIST and Fashion-MNIST.
    pub const MNIST: ImageShape = ImageShape {
        channels: 1,
        height: 28,
        width: 28,
    };

    /// Number of features of a flattened image, `channels · height · width`.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether an image of this shape has no pixels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A data set held in memory: features `x` (n × d) and targets `y` (n).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<F, Y = usize> {
    x: Array2<F>,
    y: Array1<Y>,
    image_shape: Option<ImageShape>,
    num_classes: Option<usize>,
}

impl<F: Float, Y: Clone> Dataset<F, Y> {
    /// A data set from features (one row per sample) and targets. Errors when the counts differ.
    pub fn new(x: Array2<F>, y: Array1<Y>) -> Result<Self> {
        if x.nrows() != y.len() {
            return Err(DataError::InvalidArgument(format!(
                "features have {} rows but there are {} targets",
                x.nrows(),
                y.len()
            )));
        }
        Ok(Dataset {
            x,
            y,
            image_shape: None,
            num_classes: None,
        })
    }

    /// Records that each row is a flattened image of this shape. Errors unless
    /// `shape.len()` equals the number of features.
    pub fn with_image_shape(mut self, shape: ImageShape) -> Result<Self> {
        if shape.len() != self.dim() {
            return Err(DataError::InvalidArgument(format!(
                "image shape {}×{}×{} has {} pixels, the features have {} columns",
                shape.channels,
                shape.height,
                shape.width,
                shape.len(),
                self.dim()
            )));
        }
        self.image_shape = Some(shape);
        Ok(self)
    }

    /// Features, one row per sample.
    pub fn x(&self) -> &Array2<F> {
        &self.x
    }

    /// Targets, one per sample.
    pub fn y(&self) -> &Array1<Y> {
        &self.y
    }

    /// Takes the features and targets out.
    pub fn into_parts(self) -> (Array2<F>, Array1<Y>) {
        (self.x, self.y)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Number of features per sample.
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }

    /// The image shape, when the rows are flattened images.
    pub fn image_shape(&self) -> Option<ImageShape> {
        self.image_shape
    }

    /// Applies `f` to the feature matrix, keeping targets and metadata (the number of columns
    /// must not change when an image shape is recorded).
    pub fn map_x(self, f: impl FnOnce(Array2<F>) -> Array2<F>) -> Result<Self> {
        let d = self.dim();
        let x = f(self.x);
        if x.nrows() != self.y.len() || (self.image_shape.is_some() && x.ncols() != d) {
            return Err(DataError::InvalidArgument(format!(
                "map_x changed the shape to {:?}",
                x.dim()
            )));
        }
        Ok(Dataset { x, ..self })
    }

    /// The same data with features converted to another float type (e.g. f32 → f64 for
    /// gradient checks).
    pub fn cast<G: Float>(&self) -> Dataset<G, Y> {
        Dataset {
            x: self.x.mapv(|v| G::from(v).unwrap_or_else(G::nan)),
            y: self.y.clone(),
            image_shape: self.image_shape,
            num_classes: self.num_classes,
        }
    }

    /// The samples at `indices`, in that order (repeats allowed). Errors on an index past the end.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::InvalidArgument(format!(
                "sample index {bad} out of range for a data set of {} samples",
                self.len()
            )));
        }
        Ok(self.select_unchecked(indices))
    }

    /// `select` for indices already known to be in range.
    pub(super) fn select_unchecked(&self, indices: &[usize]) -> Self {
        Dataset {
            x: self.x.select(Axis(0), indices),
            y: indices.iter().map(|&i| self.y[i].clone()).collect(),
            image_shape: self.image_shape,
            num_classes: self.num_classes,
        }
    }

    /// The samples in `range`. Errors when the range is out of bounds.
    pub fn slice(&self, range: Range<usize>) -> Result<Self> {
        if range.start > range.end || range.end > self.len() {
            return Err(DataError::InvalidArgument(format!(
                "range {range:?} out of bounds for a data set of {} samples",
                self.len()
            )));
        }
        Ok(Dataset {
            x: self.x.slice(s![range.clone(), ..]).to_owned(),
            y: self.y.slice(s![range]).to_owned(),
            image_shape: self.image_shape,
            num_classes: self.num_classes,
        })
    }

    /// The first `min(n, len)` samples (for quick tests and `--quick` runs).
    pub fn take(&self, n: usize) -> Self {
        let end = n.min(self.len());
        Dataset {
            x: self.x.slice(s![..end, ..]).to_owned(),
            y: self.y.slice(s![..end]).to_owned(),
            image_shape: self.image_shape,
            num_classes: self.num_classes,
        }
    }

    /// A copy in a random order: a uniformly random permutation (Fisher–Yates) drawn from `rng`.
    pub fn shuffled<R: Rng + ?Sized>(&self, rng: &mut R) -> Self {
        self.select_unchecked(&permutation(self.len(), rng))
    }

    /// Splits into two disjoint parts of `first` and `$\mathrm{len} - \mathrm{first}$` samples,
    /// chosen by a random permutation drawn from `rng` (e.g. Fashion-MNIST's 60,000 training images
    /// into the 59,000 "big" and 1,000 "small" parts of S1). Each part keeps the original relative
    /// order of its samples, so the split only decides membership.
    pub fn split<R: Rng + ?Sized>(&self, first: usize, rng: &mut R) -> Result<(Self, Self)> {
        if first > self.len() {
            return Err(DataError::InvalidArgument(format!(
                "cannot split {first} samples off a data set of {}",
                self.len()
            )));
        }
        let perm = permutation(self.len(), rng);
        let (a, b) = perm.split_at(first);
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        a.sort_unstable();
        b.sort_unstable();
        Ok((self.select_unchecked(&a), self.select_unchecked(&b)))
    }

    /// This data set followed by `other`. Errors when the feature counts or image shapes differ.
    pub fn concat(&self, other: &Self) -> Result<Self> {
        if self.dim() != other.dim() || self.image_shape != other.image_shape {
            return Err(DataError::InvalidArgument(format!(
                "cannot concatenate data sets of {} and {} features (image shapes {:?}, {:?})",
                self.dim(),
                other.dim(),
                self.image_shape,
                other.image_shape
            )));
        }
        let x = concatenate(Axis(0), &[self.x.view(), other.x.view()])
            .map_err(|e| DataError::InvalidArgument(e.to_string()))?;
        let y = self.y.iter().chain(other.y.iter()).cloned().collect();
        let num_classes = match (self.num_classes, other.num_classes) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        Ok(Dataset {
            x,
            y,
            image_shape: self.image_shape,
            num_classes,
        })
    }

    /// Batches in the stored order. The last batch is smaller when `batch_size` does not divide
    /// the length, unless `drop_last`. Errors when `batch_size` is 0.
    pub fn batches(&self, batch_size: usize, drop_last: bool) -> Result<Batches<'_, F, Y>> {
        Batches::new(self, (0..self.len()).collect(), batch_size, drop_last)
    }

    /// One epoch of batches in a random order drawn from `rng`.
    pub fn shuffled_batches<R: Rng + ?Sized>(
        &self,
        batch_size: usize,
        drop_last: bool,
        rng: &mut R,
    ) -> Result<Batches<'_, F, Y>> {
        Batches::new(self, permutation(self.len(), rng), batch_size, drop_last)
    }
}

impl<F: Float> Dataset<F, usize> {
    /// Records the number of classes, checking every label is below it.
    pub fn with_classes(mut self, num_classes: usize) -> Result<Self> {
        check_labels(self.y.iter().copied(), num_classes, "labels")?;
        self.num_classes = Some(num_classes);
        Ok(self)
    }

    /// The number of classes: as recorded, else one more than the largest label.
    pub fn num_classes(&self) -> usize {
        self.num_classes
            .unwrap_or_else(|| self.y.iter().max().map_or(0, |&m| m + 1))
    }

    /// How many samples each class has, indexed by class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for &label in &self.y {
            counts[label] += 1;
        }
        counts
    }
}

/// Checks every label is below `num_classes`; `source_name` names where they came from.
pub(super) fn check_labels(
    labels: impl Iterator<Item = usize>,
    num_classes: usize,
    source_name: &str,
) -> Result<()> {
    for (index, label) in labels.enumerate() {
        if label >= num_classes {
            return Err(DataError::LabelOutOfRange {
                source_name: source_name.to_owned(),
                index,
                label,
                num_classes,
            });
        }
    }
    Ok(())
}

/// A uniformly random permutation of `0..n` (Fisher–Yates, driven by `rng`).
pub fn permutation<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    p.shuffle(rng);
    p
}

#[cfg(test)]
#[path = "dataset_tests.rs"]
mod tests;
