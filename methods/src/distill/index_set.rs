//! The index set `I`: the objects whose teacher answer `$s_i = f(x^{*}_i)$` is known.
//!
//! In seed S4 (and in Vapnik's privileged-information setting) the privileged features `x*_i`,
//! hence the teacher's answers, exist only for `$i \in I \subseteq \{0, \dots, n-1\}$`. Every
//! function that takes an `IndexSet` beside teacher answers takes them as one row per element of
//! `I`, **in the order of [`IndexSet::indices`]**, which is the order the set was built in: the
//! order of the list given to [`IndexSet::from_indices`], ascending for [`IndexSet::from_mask`],
//! [`IndexSet::all`] and a batch's set from [`IndexSet::restrict`]. So the answers for `$I = [7, 2,
//! 5]$` are the answers of objects 7, 2 and 5, in that order: the set remembers the order it was
//! given, and no function re-sorts it. A number of answers other than `|I|` is an error naming the
//! function called.

use crate::{Error, Result};

/// A subset `I` of `$\{0, \dots, n-1\}$` with an order: the order of its teacher answers.
///
/// Two sets are equal when they list the same objects **in the same order** (the order says
/// which answer row belongs to which object).
///
/// ```
/// use methods::distill::IndexSet;
///
/// let i = IndexSet::from_indices(8, &[7, 2, 5])?;
/// assert_eq!(i.indices(), &[7, 2, 5]); // the answers' order: objects 7, 2, 5
/// assert_eq!(i.position(2), Some(1));  // object 2's answer is row 1
/// assert!(i.contains(5) && !i.contains(3));
/// assert_eq!(IndexSet::from_mask(i.mask().to_vec()).indices(), &[2, 5, 7]);
/// # Ok::<(), methods::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSet {
    mask: Vec<bool>,
    indices: Vec<usize>,
    /// `position[i]`: where `i` is in `indices`, if `$i \in I$`.
    position: Vec<Option<usize>>,
}

impl IndexSet {
    /// `$I = \{0, \dots, n-1\}$` in ascending order: every object has a teacher answer (Hinton's
    /// setting).
    pub fn all(n: usize) -> Self {
        Self::from_mask(vec![true; n])
    }

    /// `$I = \emptyset$`: no teacher answers (training without a teacher).
    pub fn none(n: usize) -> Self {
        Self::from_mask(vec![false; n])
    }

    /// `I` from a mask, in ascending order: `$i \in I$` iff `mask[i]`; `n = mask.len()`.
    pub fn from_mask(mask: Vec<bool>) -> Self {
        let indices: Vec<usize> = mask
            .iter()
            .enumerate()
            .filter_map(|(i, &m)| m.then_some(i))
            .collect();
        Self::build(mask, indices)
    }

    /// `I` from a list of distinct indices below `n`, **in the order given**: the teacher
    /// answers that go with this set follow the same order. Errors on an index `$\ge n$` or a
    /// repeated index (a repeat would count an object's teacher answer twice).
    ///
    /// ```
    /// use methods::distill::IndexSet;
    ///
    /// assert_eq!(IndexSet::from_indices(5, &[3, 0])?.indices(), &[3, 0]);
    /// assert!(IndexSet::from_indices(5, &[5]).is_err());
    /// assert!(IndexSet::from_indices(5, &[1, 1]).is_err());
    /// # Ok::<(), methods::Error>(())
    /// ```
    pub fn from_indices(n: usize, indices: &[usize]) -> Result<Self> {
        let mut mask = vec![false; n];
        for &i in indices {
            if i >= n {
                return Err(Error::config(
                    "IndexSet::from_indices",
                    format!("index {i} is out of range for {n} objects"),
                ));
            }
            if mask[i] {
                return Err(Error::config(
                    "IndexSet::from_indices",
                    format!("index {i} appears twice"),
                ));
            }
            mask[i] = true;
        }
        Ok(Self::build(mask, indices.to_vec()))
    }

    fn build(mask: Vec<bool>, indices: Vec<usize>) -> Self {
        let mut position = vec![None; mask.len()];
        for (row, &i) in indices.iter().enumerate() {
            position[i] = Some(row);
        }
        IndexSet {
            mask,
            indices,
            position,
        }
    }

    /// `n`, the number of objects.
    pub fn universe(&self) -> usize {
        self.mask.len()
    }

    /// `|I|`.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether `$I = \emptyset$`.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Whether `$i \in I$` (false for `$i \ge n$`).
    pub fn contains(&self, i: usize) -> bool {
        self.mask.get(i).copied().unwrap_or(false)
    }

    /// The elements of `I`, in the set's order: the order of the teacher answers.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The row of object `i`'s teacher answer (its position in [`indices`](Self::indices)),
    /// or `None` if `$i \notin I$`.
    pub fn position(&self, i: usize) -> Option<usize> {
        self.position.get(i).copied().flatten()
    }

    /// The mask: `mask()[i] = (i ∈ I)`.
    pub fn mask(&self) -> &[bool] {
        &self.mask
    }

    /// The complement `{0, …, n−1} \ I`, ascending.
    pub fn complement(&self) -> Vec<usize> {
        (0..self.universe()).filter(|&i| !self.mask[i]).collect()
    }

    /// The index set of a mini-batch: `rows` are the batch's objects (indices below `n`, in batch
    /// order); the result is the set of batch positions `j` with `$\mathrm{rows}[j] \in I$`,
    /// ascending. Also returns, for each such position in that order, the row of `rows[j]`'s answer
    /// in the full teacher-answer matrix (its [`position`](Self::position) in `I`): select those
    /// rows and pass them with the batch.
    ///
    /// ```
    /// use methods::distill::IndexSet;
    ///
    /// // Answers stored for objects 6, 1, 4 (rows 0, 1, 2); a batch of objects 4, 0, 6, 5.
    /// let set = IndexSet::from_indices(8, &[6, 1, 4])?;
    /// let (batch, answer_rows) = set.restrict(&[4, 0, 6, 5])?;
    /// assert_eq!(batch.indices(), &[0, 2]);  // batch positions of objects 4 and 6
    /// assert_eq!(answer_rows, vec![2, 0]);   // their answers' rows
    /// # Ok::<(), methods::Error>(())
    /// ```
    pub fn restrict(&self, rows: &[usize]) -> Result<(IndexSet, Vec<usize>)> {
        let mut mask = Vec::with_capacity(rows.len());
        let mut answer_rows = Vec::new();
        for &r in rows {
            if r >= self.universe() {
                return Err(Error::config(
                    "IndexSet::restrict",
                    format!(
                        "batch row {r} is out of range for {} objects",
                        self.universe()
                    ),
                ));
            }
            let position = self.position[r];
            mask.push(position.is_some());
            answer_rows.extend(position);
        }
        Ok((IndexSet::from_mask(mask), answer_rows))
    }

    /// Checks that `I` is over a batch of `batch` objects and that there are `answers` teacher
    /// answers, one per element of `I`, for the function named `op`.
    pub(crate) fn check_answers(&self, op: &str, batch: usize, answers: usize) -> Result<()> {
        if self.universe() != batch {
            return Err(Error::config(
                op,
                format!(
                    "the index set I is over {} objects but the batch has {batch}",
                    self.universe()
                ),
            ));
        }
        if answers != self.len() {
            return Err(Error::config(
                op,
                format!(
                    "{answers} teacher answers but I has {} elements (one answer per element of \
                     I, in the order of I.indices())",
                    self.len()
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
        assert_eq!(set.indices(), &[3, 0]);
        assert_eq!(set.mask(), &[true, false, false, true, false]);
        assert_eq!(set.complement(), vec![1, 2, 4]);
        assert_eq!((set.position(3), set.position(0)), (Some(0), Some(1)));
        assert_eq!((set.position(1), set.position(9)), (None, None));
        assert!(set.contains(3) && !set.contains(4) && !set.contains(9));
        assert!(IndexSet::from_indices(5, &[5]).is_err());
        assert!(IndexSet::from_indices(5, &[1, 1]).is_err());
        assert_eq!(IndexSet::all(3).len(), 3);
        assert!(IndexSet::none(3).is_empty());
        // The order is part of the set.
        assert_ne!(set, IndexSet::from_indices(5, &[0, 3]).unwrap());
    }

    #[test]
    fn restrict_maps_batch_rows_to_answer_rows() {
        // I = [6, 1, 4]: answers stored in that order (rows 0, 1, 2).
        let set = IndexSet::from_indices(8, &[6, 1, 4]).unwrap();
        let (batch, answers) = set.restrict(&[4, 0, 6, 5]).unwrap();
        assert_eq!(batch.indices(), &[0, 2]);
        assert_eq!(answers, vec![2, 0]);
        // The same objects listed ascending store their answers ascending.
        let sorted = IndexSet::from_indices(8, &[1, 4, 6]).unwrap();
        assert_eq!(sorted.restrict(&[4, 0, 6, 5]).unwrap().1, vec![1, 2]);
        assert!(set.restrict(&[8]).is_err());
    }
}
