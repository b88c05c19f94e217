//! Evaluation metrics on plain arrays (no tape): accuracy, mean cross-entropy, confusion
//! matrix. Computed in `f64` whatever the element type.

use autograd::Float;
use ndarray::{Array2, ArrayView2};

/// The index of the largest entry of each row (ties: the first).
pub fn argmax_rows<F: Float>(scores: ArrayView2<'_, F>) -> Vec<usize> {
    scores
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (k, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = k;
                }
            }
            best
        })
        .collect()
}

/// The fraction of rows whose largest score is at the label: `$(1/B) \sum_i [\operatorname{argmax}
/// _k s_{ik} = y_i]$`. Scores may be logits or probabilities. Empty input: 0.
pub fn accuracy<F: Float>(scores: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    let hits = argmax_rows(scores)
        .iter()
        .zip(labels)
        .filter(|(p, y)| p == y)
        .count();
    hits as f64 / labels.len().max(1) as f64
}

/// Mean cross-entropy of logits against labels, `$-(1/B) \sum_i \log \operatorname{softmax}
/// (z_i)_{y_i}$`, evaluated stably in `f64` (`$\log \operatorname{softmax} (z)_y = z_y - m - \ln
/// \sum_k e^{z_k - m}$`, `m = max_k z_k`).
pub fn mean_cross_entropy<F: Float>(logits: ArrayView2<'_, F>, labels: &[usize]) -> f64 {
    let total: f64 = logits
        .rows()
        .into_iter()
        .zip(labels)
        .map(|(row, &y)| {
            let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.as_f64()));
            let lse = m + row.iter().map(|v| (v.as_f64() - m).exp()).sum::<f64>().ln();
            lse - row[y].as_f64()
        })
        .sum();
    total / labels.len().max(1) as f64
}

/// `C[y, p]`: how many samples of true class `y` were predicted as `p`, for `classes` classes.
/// Labels or predictions outside `0..classes` are not counted.
pub fn confusion_matrix(predicted: &[usize], labels: &[usize], classes: usize) -> Array2<usize> {
    let mut c = Array2::zeros((classes, classes));
    for (&p, &y) in predicted.iter().zip(labels) {
        if p < classes && y < classes {
            c[[y, p]] += 1;
        }
    }
    c
}
