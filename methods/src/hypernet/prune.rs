//! Pruning by relative density at zero: remove the weights whose posterior puts the most
//! density at 0 relative to its mode.

use autograd::Float;
use ndarray::{ArrayD, IxDyn};
use nn::layers::GaussianParam;

use crate::bayes::variational::VariationalMlp;
use crate::{Error, Result};

/// Which weights compete for removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PruneScope {
    /// Each layer loses the same fraction of its weights (the authors' code).
    PerLayer,
    /// One ranking over all weights of the network.
    Global,
}

/// The removal score of every entry of `g`, `$\mu^{2}/\sigma^{2} = \mu^{2} e^{-\rho}$`, in
/// row-major order: the seed's relative density `$p(0)/p(\mu) = \exp(-\mu^{2}/(2\sigma^{2}))$` of
/// `$q = \mathcal{N}(\mu, \sigma^{2})$` is largest where the score is smallest, so the smallest
/// score goes first. An entry an earlier mask removed scores −1 (before every kept one), so
/// successive prunings nest.
pub fn removal_scores<F: Float>(g: &GaussianParam<F>) -> Vec<f64> {
    let (mean, log_var) = (g.mean.value(), g.log_var.value());
    let score = |m: &F, r: &F| m.as_f64().powi(2) * (-r.as_f64()).exp();
    match &g.mask {
        None => mean
            .iter()
            .zip(log_var.iter())
            .map(|(m, r)| score(m, r))
            .collect(),
        Some(mask) => mean
            .iter()
            .zip(log_var.iter())
            .zip(mask.iter())
            .map(|((m, r), k)| if *k == F::zero() { -1.0 } else { score(m, r) })
            .collect(),
    }
}

/// What [`prune`] removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneReport {
    /// Weights removed.
    pub removed: usize,
    /// Weights in the network (biases are not pruned and not counted).
    pub total: usize,
}

/// The `k` smallest of `scores` (ties broken by position, so the order is total).
fn smallest(scores: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

/// Removes the fraction `$\mathrm{fraction} \in[0, 1]$` of the weights of `model` with the smallest
/// [`removal_scores`] — exactly `$\mathrm{round}(\mathrm{fraction} \cdot n)$` of them, per layer or
/// over the whole network (`scope`) — by setting their mask to 0 and their mean to 0. Biases are
/// kept (the authors' code prunes weight matrices only; they are 110 of the 79,510 parameters of
/// 784-100-10). Errors unless `$\mathrm{fraction} \in[0, 1]$`.
pub fn prune<F: Float>(
    model: &mut VariationalMlp<F>,
    fraction: f64,
    scope: PruneScope,
) -> Result<PruneReport> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(Error::config(
            "pruning fraction",
            format!("must be in [0, 1], got {fraction}"),
        ));
    }
    let scores: Vec<Vec<f64>> = model
        .layers
        .iter()
        .map(|l| removal_scores(&l.weight))
        .collect();
    let total: usize = scores.iter().map(Vec::len).sum();
    // the removed positions of each layer
    let removed: Vec<Vec<usize>> = match scope {
        PruneScope::PerLayer => scores
            .iter()
            .map(|s| smallest(s, (fraction * s.len() as f64).round() as usize))
            .collect(),
        PruneScope::Global => {
            let flat: Vec<f64> = scores.iter().flatten().copied().collect();
            let mut out = vec![Vec::new(); scores.len()];
            let starts: Vec<usize> = scores
                .iter()
                .scan(0, |acc, s| {
                    let start = *acc;
                    *acc += s.len();
                    Some(start)
                })
                .collect();
            for i in smallest(&flat, (fraction * total as f64).round() as usize) {
                let layer = starts.partition_point(|&s| s <= i) - 1;
                out[layer].push(i - starts[layer]);
            }
            out
        }
    };
    let mut count = 0;
    for (layer, positions) in model.layers.iter_mut().zip(&removed) {
        let g = &mut layer.weight;
        let shape = g.shape().to_vec();
        let mut mask = match &g.mask {
            Some(m) => m.to_owned(),
            None => ArrayD::from_elem(IxDyn(&shape), F::one()),
        };
        let mut mean = g.mean.value().to_owned();
        {
            let (mask, mean) = (mask.as_slice_mut(), mean.as_slice_mut());
            let (mask, mean) = mask.zip(mean).ok_or_else(|| {
                Error::config("prune", "weights must be contiguous row-major arrays")
            })?;
            for &i in positions {
                mask[i] = F::zero();
                mean[i] = F::zero();
            }
        }
        count += mask.iter().filter(|&&v| v == F::zero()).count();
        g.mean.set(mean)?;
        g.set_mask(mask.into_shared())?;
    }
    Ok(PruneReport {
        removed: count,
        total,
    })
}
