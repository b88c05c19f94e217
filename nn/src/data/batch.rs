//! Mini-batches: an iterator of `(x_batch, y_batch)` over a data set in a given order.

use ndarray::{Array1, Array2, Axis};
use num_traits::Float;

use super::dataset::Dataset;
use super::error::{DataError, Result};

/// An iterator of mini-batches `(x_batch, y_batch)`: `x_batch` is `$b \times d$`, `y_batch` has `b`
/// targets, with `b = batch_size` except possibly for the last batch.
///
/// Made by [`Dataset::batches`] (stored order) or [`Dataset::shuffled_batches`] (one random
/// epoch). With `n` samples there are `⌈n / batch_size⌉` batches, or `⌊n / batch_size⌋` when the
/// last partial batch is dropped; each sample appears in at most one batch.
#[derive(Debug, Clone)]
pub struct Batches<'a, F, Y = usize> {
    data: &'a Dataset<F, Y>,
    order: Vec<usize>,
    batch_size: usize,
    pos: usize,
    end: usize,
}

impl<'a, F: Float, Y: Clone> Batches<'a, F, Y> {
    /// Batches of `data` visiting samples in `order` (a permutation of `0..n`).
    pub(super) fn new(
        data: &'a Dataset<F, Y>,
        order: Vec<usize>,
        batch_size: usize,
        drop_last: bool,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument(
                "batch size must be at least 1".to_owned(),
            ));
        }
        let end = if drop_last {
            order.len() - order.len() % batch_size
        } else {
            order.len()
        };
        Ok(Batches {
            data,
            order,
            batch_size,
            pos: 0,
            end,
        })
    }

    /// The order in which samples are visited (including any dropped at the end).
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

impl<F: Float, Y: Clone> Iterator for Batches<'_, F, Y> {
    type Item = (Array2<F>, Array1<Y>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let stop = (self.pos + self.batch_size).min(self.end);
        let idx = &self.order[self.pos..stop];
        self.pos = stop;
        let x = self.data.x().select(Axis(0), idx);
        let y = idx.iter().map(|&i| self.data.y()[i].clone()).collect();
        Some((x, y))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.end - self.pos).div_ceil(self.batch_size);
        (n, Some(n))
    }
}

impl<F: Float, Y: Clone> ExactSizeIterator for Batches<'_, F, Y> {}
