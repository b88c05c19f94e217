//! The baseline transfer regularisers of seed S0's table: L2-penalty, L2-SP and DELTA (plain,
//! and with DELTA's channel attention).
//!
//! Each takes the target model's parameters or feature maps as variables on the training step's
//! tape (`Ctx::bind_all`, or the outputs of the encoder's layers) and the source model's as
//! constants, and returns the penalty `$\Omega$` to add to the task loss.

use autograd::{Float, Var};
use ndarray::Array1;
use nn::{Ctx, Module};

use crate::{Error, Result};

fn check_weight(what: &str, w: f64) -> Result<()> {
    if w.is_finite() && w >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("must be finite and ≥ 0, got {w}"),
        ))
    }
}

/// `$\sum_p \|x_p\|^{2}$` over a list of variables (a zero scalar for an empty list).
fn sum_of_squares<'t, F: Float>(
    tape: &'t autograd::Tape<F>,
    xs: &[Var<'t, F>],
) -> Result<Var<'t, F>> {
    xs.iter().try_fold(tape.scalar(F::zero()), |acc, x| {
        Ok(acc.try_add(x.square().sum())?)
    })
}

/// The L2 penalty `$\Omega = \alpha \|w\|^{2} = \alpha \sum_p \sum_k w_{pk}^{2}$` over the
/// parameters `params` (on one tape). Symbols → arguments: `w` = `params`, `$\alpha$` = `alpha`
/// (finite, ≥ 0). In seed S0's table it is the baseline's whole `$\Omega$` (all target parameters),
/// and the `$\alpha \|w_{cl}\|^{2}$` term of L2-SP and DELTA (the classifier's). `None` if `params`
/// is empty.
pub fn l2_penalty<'t, F: Float>(params: &[Var<'t, F>], alpha: f64) -> Result<Option<Var<'t, F>>> {
    check_weight("L2 penalty α", alpha)?;
    let Some(first) = params.first() else {
        return Ok(None);
    };
    Ok(Some(
        sum_of_squares(first.tape(), params)?.mul_scalar(alpha),
    ))
}

/// The L2-SP penalty's starting-point term (Li, Grandvalet & Davoine, 2018): `Ω_SP = β ‖w_enc −
/// w_enc^src‖² = β Σ_p Σ_k (w_pk − w⁰_pk)²`. Symbols → arguments: `w_enc` = `target` (variables),
/// `w_enc^src` = `source` (the source model's values, pairwise of the same shapes; constants),
/// `$\beta$` = `beta`. L2-SP's full `$\Omega$` adds [`l2_penalty`] of the classifier. Errors if the
/// lists or shapes differ. `None` if empty.
pub fn l2_sp<'t, F: Float>(
    target: &[Var<'t, F>],
    source: &[Var<'t, F>],
    beta: f64,
) -> Result<Option<Var<'t, F>>> {
    check_weight("L2-SP β", beta)?;
    let diffs = differences("L2-SP", target, source)?;
    let Some(first) = diffs.first() else {
        return Ok(None);
    };
    Ok(Some(sum_of_squares(first.tape(), &diffs)?.mul_scalar(beta)))
}

/// `$t_p - s_p$` for matching lists of variables, with the source side detached.
fn differences<'t, F: Float>(
    op: &str,
    target: &[Var<'t, F>],
    source: &[Var<'t, F>],
) -> Result<Vec<Var<'t, F>>> {
    if target.len() != source.len() {
        return Err(Error::config(
            op,
            format!(
                "{} target tensors but {} source tensors",
                target.len(),
                source.len()
            ),
        ));
    }
    target
        .iter()
        .zip(source)
        .enumerate()
        .map(|(i, (t, s))| {
            if t.shape() != s.shape() {
                return Err(Error::config(
                    op,
                    format!(
                        "tensor {i}: target shape {:?}, source shape {:?}",
                        t.shape(),
                        s.shape()
                    ),
                ));
            }
            Ok(t.try_sub(s.detach())?)
        })
        .collect()
}

/// The source model's parameters as constants of `ctx`'s tape, by name in visiting order (the
/// `w^src` of L2-SP; compare `Ctx::bind_all` for the target).
pub fn source_constants<'t, F: Float>(
    ctx: &Ctx<'t, F>,
    source: &dyn Module<F>,
) -> Vec<(String, Var<'t, F>)> {
    let mut out = Vec::new();
    source.visit_params(&mut |name, p| {
        out.push((name.to_string(), ctx.tape().constant(p.value().clone())))
    });
    out
}

/// Per-channel squared distances `$D_c = (1/B) \sum_i \sum_s (t_{\mathrm{ics}} -
/// s_{\mathrm{ics}})^{2}$` of two feature maps of shape `$[B, C, \dots]$` (summed over the spatial
/// axes `s`, if any): a `[C]` variable.
fn channel_distances<'t, F: Float>(op: &str, t: Var<'t, F>, s: Var<'t, F>) -> Result<Var<'t, F>> {
    if t.shape() != s.shape() || t.ndim() < 2 {
        return Err(Error::config(
            op,
            format!(
                "feature maps must be [B, C, …] of one shape, got {:?} and {:?}",
                t.shape(),
                s.shape()
            ),
        ));
    }
    let d = t.try_sub(s.detach())?.square();
    let per_channel = if d.ndim() > 2 {
        let spatial: Vec<isize> = (2..d.ndim() as isize).collect();
        d.sum_axes(&spatial, false)?
    } else {
        d
    };
    Ok(per_channel.mean_axis(0, false)?)
}

/// DELTA's feature-map term in its plain form (the seed's table):
///
/// ```math
/// \Omega_{FM} = \beta \sum_j \frac{1}{B} \sum_i \|\mathrm{FM}_j^{\mathrm{tgt}}(x_i) -
///   \mathrm{FM}_j^{\mathrm{src}}(x_i)\|^{2},
/// ```
///
/// the squared distance between the target and source encoders' outputs at layer `j`, on the same
/// batch `$x_1 \dots x_B$`, averaged over the batch. Symbols → arguments: `FM_j^tgt` = `target[j]`
/// (variables, `$[B, C, \dots]$`), `FM_j^src` = `source[j]` (treated as constants: the source model
/// is fixed), `$\beta$` = `beta`. DELTA's full `$\Omega$` adds [`l2_penalty`] of the classifier.
pub fn feature_map_distance<'t, F: Float>(
    target: &[Var<'t, F>],
    source: &[Var<'t, F>],
    beta: f64,
) -> Result<Option<Var<'t, F>>> {
    check_weight("DELTA β", beta)?;
    attentive_sum("DELTA", target, source, None, beta)
}

/// DELTA with channel attention (Li et al., 2019, eq. 4):
///
/// ```math
/// \Omega_{FM} = \beta \sum_j \sum_c w_{jc} \frac{1}{B} \sum_i
///   \|\mathrm{FM}_{jc}^{\mathrm{tgt}}(x_i) - \mathrm{FM}_{jc}^{\mathrm{src}}(x_i)\|^{2},
/// ```
///
/// channel `c` of layer `j` weighted by `$w_{jc}$` = `weights[j][c]` ([`channel_attention`]).
/// Other symbols as in [`feature_map_distance`]. Errors if a layer's weights do not have one
/// entry per channel.
pub fn attentive_feature_map_distance<'t, F: Float>(
    target: &[Var<'t, F>],
    source: &[Var<'t, F>],
    weights: &[Array1<f64>],
    beta: f64,
) -> Result<Option<Var<'t, F>>> {
    check_weight("DELTA β", beta)?;
    if weights.len() != target.len() {
        return Err(Error::config(
            "DELTA attention",
            format!(
                "{} layers of weights for {} feature maps",
                weights.len(),
                target.len()
            ),
        ));
    }
    attentive_sum("DELTA attention", target, source, Some(weights), beta)
}

fn attentive_sum<'t, F: Float>(
    op: &str,
    target: &[Var<'t, F>],
    source: &[Var<'t, F>],
    weights: Option<&[Array1<f64>]>,
    beta: f64,
) -> Result<Option<Var<'t, F>>> {
    if target.len() != source.len() {
        return Err(Error::config(
            op,
            format!(
                "{} target feature maps but {} source ones",
                target.len(),
                source.len()
            ),
        ));
    }
    let Some(first) = target.first() else {
        return Ok(None);
    };
    let tape = first.tape();
    let mut total = tape.scalar(F::zero());
    for (j, (&t, &s)) in target.iter().zip(source).enumerate() {
        let d = channel_distances(op, t, s)?;
        let term = match weights {
            None => d.sum(),
            Some(w) => {
                let w = &w[j];
                if w.len() != d.numel() {
                    return Err(Error::config(
                        op,
                        format!(
                            "layer {j} has {} channels but {} weights",
                            d.numel(),
                            w.len()
                        ),
                    ));
                }
                d.try_mul(tape.constant(w.mapv(F::from_f64)))?.sum()
            }
        };
        total = total.try_add(term)?;
    }
    Ok(Some(total.mul_scalar(beta)))
}

/// DELTA's supervised channel attention for one layer (Li et al., 2019, eq. 5):
///
/// `w_c = softmax_c( L(ω* with channel c removed) − L(ω*) )`,
///
/// channels whose removal hurts the source model (with a classifier fitted on the target data) most
/// get the largest weights; the weights are positive and sum to 1. Symbols → arguments:
/// `$L(\omega^{*})$` = `base_loss`, `$L(\omega^{*} \text{ without } c)$` = `losses_without[c]`.
/// Computed stably (shifted by the maximum). Errors on an empty list or non-finite losses.
pub fn channel_attention(base_loss: f64, losses_without: &[f64]) -> Result<Array1<f64>> {
    if losses_without.is_empty()
        || !base_loss.is_finite()
        || losses_without.iter().any(|l| !l.is_finite())
    {
        return Err(Error::config(
            "DELTA channel attention",
            "needs a finite base loss and one finite loss per channel",
        ));
    }
    let gains: Array1<f64> = losses_without.iter().map(|l| l - base_loss).collect();
    let m = gains.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let e = gains.mapv(|g| (g - m).exp());
    let total = e.sum();
    Ok(e / total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use autograd::Tape;
    use ndarray::{array, ArrayD, IxDyn};

    /// Hand-computed values: ‖(1, 2)‖² = 5, ‖(3)‖² = 9; α = 0.5 → 7. L2-SP of (1, 2) − (0, 4)
    /// and 3 − 1: 1 + 4 + 4 = 9, β = 2 → 18.
    #[test]
    fn known_values() {
        let tape = Tape::<f64>::new();
        let a = tape.param(array![1.0, 2.0]);
        let b = tape.param(array![3.0]);
        let l2 = l2_penalty(&[a, b], 0.5).unwrap().unwrap();
        assert_eq!(l2.item(), Some(7.0));
        let (a0, b0) = (tape.constant(array![0.0, 4.0]), tape.constant(array![1.0]));
        assert_eq!(
            l2_sp(&[a, b], &[a0, b0], 2.0).unwrap().unwrap().item(),
            Some(18.0)
        );
        assert!(l2_sp(&[a], &[a0, b0], 1.0).is_err());
        assert!(l2_sp(&[a], &[b0], 1.0).is_err());
        assert!(l2_penalty(&[a], -1.0).is_err());
        assert!(l2_penalty::<f64>(&[], 1.0).unwrap().is_none());
    }

    /// A [2, 2, 1, 2] map against zero: channel 0 holds (1, 1 | 2, 0), channel 1 holds
    /// (0, 3 | 1, 1). Per image and channel, Σ_s t²: image 0 → (2, 9), image 1 → (4, 2);
    /// batch means (3, 5.5). Plain: 8.5; with weights (0.25, 0.75): 0.75 + 4.125 = 4.875.
    #[test]
    fn feature_map_distances_by_hand() {
        let tape = Tape::<f64>::new();
        let t = ArrayD::from_shape_vec(
            IxDyn(&[2, 2, 1, 2]),
            vec![1.0, 1.0, 0.0, 3.0, 2.0, 0.0, 1.0, 1.0],
        )
        .unwrap();
        let t = tape.param(t);
        let s = tape.constant(ArrayD::<f64>::zeros(IxDyn(&[2, 2, 1, 2])));
        let plain = feature_map_distance(&[t], &[s], 1.0).unwrap().unwrap();
        assert_eq!(plain.item(), Some(8.5));
        let w = [array![0.25, 0.75]];
        let att = attentive_feature_map_distance(&[t], &[s], &w, 2.0)
            .unwrap()
            .unwrap();
        assert_eq!(att.item(), Some(2.0 * 4.875));
        assert!(attentive_feature_map_distance(&[t], &[s], &[array![1.0]], 1.0).is_err());
    }

    /// Equal losses give uniform weights; a channel whose removal costs 1 more than another
    /// gets e times its weight.
    #[test]
    fn attention_is_a_softmax_of_loss_increases() {
        let w = channel_attention(1.0, &[1.5, 1.5]).unwrap();
        assert_eq!(w, array![0.5, 0.5]);
        let w = channel_attention(0.0, &[2.0, 1.0]).unwrap();
        assert!((w[0] / w[1] - std::f64::consts::E).abs() < 1e-12);
        assert!(channel_attention(0.0, &[]).is_err());
        assert!(channel_attention(0.0, &[f64::NAN]).is_err());
    }
}
