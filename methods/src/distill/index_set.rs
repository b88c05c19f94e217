//! The index set `I`: the objects whose teacher answer `s_i = f(x*_i)` is known.
//!
//! In seed S4 (and in Vapnik's privileged-information setting) the privileged features `x*_i`,
//! hence the teacher's answers, exist only for `i ∈ I ⊆ {0, …, n−1}`. Every loss of this module
//! that uses teacher answers takes them as a matrix with one row per element of `I`, **in
//! ascending index order** (the order of [`IndexSet::indices`]).

use crate::{Error, Result};

/// A subset `I` of `{0, …, n−1}`, stored both as a sorted list and as a mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSet {
    mask: Vec<bool>,
    indices: Vec<usize>,
}

impl IndexSet {
    /// `I = {0, …, n−1}`: every object has a teacher answer (Hinton's setting).
    pub fn all(n: usize) -> Self {
        Self::from_mask(vec![true; n])
    }

    /// `I = ∅`: no teacher answers (training without a teacher).
    pub fn none(n: usize) -> Self {
        Self::from_mask(vec![false; n])
    }

    /// `I` from a mask: `i ∈ I` iff `mask[i]`; `n = mask.len()`.
    pub fn from_mask(mask: Vec<bool>) -> Self {
        let indices = mask
            .iter()
            .enumerate()
            .filter_map(|(i, &m)| m.then_some(i))
            .collect();
        IndexSet { mask, indices }
    }

    /// `I` from a list of indices below `n`, in any order. Errors on an index `≥ n` or a
    /// repeated index (a repeat would count an object's teacher answer twice).
    pub fn from_indices(n: usize, indices: &[usize]) -> Result<Self> {
        let mut mask = vec![false; n];
        for &i in indices {
            if i >= n {
                return Err(Error::config(
                    "index set I",
                    format!("index {i} is out of range for {n} objects"),
                ));
            }
            if mask[i] {
                return Err(Error::config(
                    "index set I",
                    format!("index {i} appears twice"),
                ));
            }
            mask[i] = true;
        }
        Ok(Self::from_mask(mask))
    }

    /// `n`, the number of objects.
    pub fn universe(&self) -> usize {
        self.mask.len()
    }

    /// `|I|`.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether `I = ∅`.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Whether `i ∈ I` (false for `i ≥ n`).
    pub fn contains(&self, i: usize) -> bool {
        self.mask.get(i).copied().unwrap_or(false)
    }

    /// The elements of `I`, ascending.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The mask: `mask()[i] = (i ∈ I)`.
    pub fn mask(&self) -> &[bool] {
        &self.mask
    }

    /// The complement `{0, …, n−1} \ I`, ascending.
    pub fn complement(&self) -> Vec<usize> {
        (0..self.universe()).filter(|&i| !self.mask[i]).collect()
    }

    /// The index set of a mini-batch: `rows` are the batch's objects (indices below `n`, in
    /// batch order); the result is the set of batch positions `j` with `rows[j] ∈ I`. Also
    /// returns, for each such position in ascending order, the position of `rows[j]` within
    /// [`IndexSet::indices`] — the row of the full teacher-answer matrix to pass with the batch.
    pub fn restrict(&self, rows: &[usize]) -> Result<(IndexSet, Vec<usize>)> {
        let mut mask = Vec::with_capacity(rows.len());
        let mut answer_rows = Vec::new();
        for &r in rows {
            if r >= self.universe() {
                return Err(Error::config(
                    "index set I",
                    format!(
                        "batch row {r} is out of range for {} objects",
                        self.universe()
                    ),
                ));
            }
            let inside = self.mask[r];
            mask.push(inside);
            if inside {
                let pos = self.indices.binary_search(&r).expect("mask and list agree");
                answer_rows.push(pos);
            }
        }
        Ok((IndexSet::from_mask(mask), answer_rows))
    }

    /// Checks that `I` is a subset of a batch of `batch` objects, for the loss named `op`.
    pub(crate) fn check_batch(&self, op: &str, batch: usize) -> Result<()> {
        if self.universe() != batch {
            return Err(Error::config(
                op,
                format!(
                    "the index set I is over {} objects but the batch has {batch}",
                    self.universe()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_mask_agree_and_bad_lists_are_refused() {
        let set = IndexSet::from_indices(5, &[3, 0]).unwrap();
        assert_eq!(set.indices(), &[0, 3]);
        assert_eq!(set.mask(), &[true, false, false, true, false]);
        assert_eq!(set.complement(), vec![1, 2, 4]);
        assert!(set.contains(3) && !set.contains(4) && !set.contains(9));
        assert!(IndexSet::from_indices(5, &[5]).is_err());
        assert!(IndexSet::from_indices(5, &[1, 1]).is_err());
        assert_eq!(IndexSet::all(3).len(), 3);
        assert!(IndexSet::none(3).is_empty());
    }

    #[test]
    fn restrict_maps_batch_rows_to_answer_rows() {
        // I = {1, 4, 6}; answers are stored in that order (rows 0, 1, 2).
        let set = IndexSet::from_indices(8, &[6, 1, 4]).unwrap();
        let (batch, answers) = set.restrict(&[4, 0, 6, 5]).unwrap();
        assert_eq!(batch.indices(), &[0, 2]);
        assert_eq!(answers, vec![1, 2]);
        assert!(set.restrict(&[8]).is_err());
    }
}
