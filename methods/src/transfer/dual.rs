//! The Kantorovich–Rubinstein dual estimate of `$W_{1}$` by a trained critic.

use autograd::{Float, Tape};
use ndarray::{Array2, ArrayView2, Axis};
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::Ctx;
use rand::seq::index::sample;
use rand::Rng;

use super::critic::Critic;
use crate::{Error, Result};

/// `$\mathbb{E}_{\hat{P}} f - \mathbb{E}_{\hat{Q}} f = \frac{1}{n} \sum_i f(p_i) - \frac{1}{m}
/// \sum_j f(q_j)$`, the critic's dual value on two clouds (rows of `p` and `q`), computed without
/// recording and summed in `f64`.
///
/// By Kantorovich–Rubinstein, `$W_{1}(P, Q) = \sup_{\operatorname{Lip} (f) \le 1} \mathbb{E}_P f -
/// \mathbb{E}_Q f$`: for a 1-Lipschitz critic (the orthonormal one, by construction) this value is
/// a lower bound of `$W_{1}(\hat{P}, \hat{Q})$` for the very clouds it is evaluated on — no
/// sampling error in that inequality.
pub fn dual_value<F: Float>(
    critic: &Critic<F>,
    p: ArrayView2<'_, f64>,
    q: ArrayView2<'_, f64>,
) -> Result<f64> {
    check_clouds(critic, p, q)?;
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    Ok(mean(critic.values(&p.to_owned())?) - mean(critic.values(&q.to_owned())?))
}

fn check_clouds<F: Float>(
    critic: &Critic<F>,
    p: ArrayView2<'_, f64>,
    q: ArrayView2<'_, f64>,
) -> Result<()> {
    let d = critic.input_dim();
    if p.nrows() == 0 || q.nrows() == 0 || p.ncols() != d || q.ncols() != d {
        return Err(Error::config(
            "critic dual value",
            format!(
                "needs two non-empty clouds of points in R^{d}, got {:?} and {:?}",
                p.dim(),
                q.dim()
            ),
        ));
    }
    if p.iter().chain(q.iter()).any(|v| !v.is_finite()) {
        return Err(Error::config(
            "critic dual value",
            "the clouds must be finite (no NaN)",
        ));
    }
    Ok(())
}

/// How a critic is trained on two samples.
#[derive(Clone, Debug, PartialEq)]
pub struct CriticTraining {
    /// Adam steps of ascent on the dual objective.
    pub steps: usize,
    /// Points drawn from each cloud per step (without replacement); `None` = whole clouds.
    pub batch_size: Option<usize>,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Adam's `$(\beta_{1}, \beta_{2})$`. Default `(0.5, 0.9)`, as in Gulrajani et al. (2017) for
    /// critics.
    pub betas: (f64, f64),
}

impl Default for CriticTraining {
    /// 500 full-batch steps at `$\eta = 0.01$` (our choice: enough for the 2-D checks to settle,
    /// see `checks::w1`), `$\beta = (0.5, 0.9)$`.
    fn default() -> Self {
        CriticTraining {
            steps: 500,
            batch_size: None,
            learning_rate: 0.01,
            betas: (0.5, 0.9),
        }
    }
}

/// What [`train_critic`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct DualEstimate {
    /// The dual value on the whole clouds after training ([`dual_value`]).
    pub value: f64,
    /// The dual value of each step's batch, before that step's update (without the penalty).
    pub history: Vec<f64>,
}

/// Trains `critic` by Adam ascent on `$\mathbb{E}_p f - \mathbb{E}_q f$` (minus its regulariser:
/// the gradient penalty for that kind), on batches of the two clouds, and returns the final dual
/// value on the whole clouds. Maximises
///
/// ```math
/// J(\varphi) = \frac{1}{B} \sum_i f_{\varphi}(p_i) - \frac{1}{B} \sum_i f_{\varphi}(q_i) -
///   \mathrm{GP}(\varphi)
/// ```
///
/// over the critic's parameters `$\varphi$`; spectrally normalised critics refresh their power
/// iteration once per step. Errors on empty or non-finite clouds, a batch larger than a
/// cloud, or a loss that stops being finite.
pub fn train_critic<F: Float>(
    critic: &mut Critic<F>,
    p: ArrayView2<'_, f64>,
    q: ArrayView2<'_, f64>,
    cfg: &CriticTraining,
    rng: &mut impl Rng,
) -> Result<DualEstimate> {
    check_clouds(critic, p, q)?;
    let full = p.nrows().min(q.nrows());
    let batch = cfg.batch_size.unwrap_or(full);
    if batch == 0 || batch > full {
        return Err(Error::config(
            "critic training batch size",
            format!("must be in 1..={full} (the smaller cloud), got {batch}"),
        ));
    }
    let mut opt =
        Adam::<F>::new(AdamConfig::adam(cfg.learning_rate).betas(cfg.betas.0, cfg.betas.1))?;
    let mut history = Vec::with_capacity(cfg.steps);
    for step in 1..=cfg.steps {
        let draw = |cloud: ArrayView2<'_, f64>, rng: &mut _| -> Array2<f64> {
            if cfg.batch_size.is_none() && cloud.nrows() == batch {
                cloud.to_owned()
            } else {
                cloud.select(Axis(0), &sample(rng, cloud.nrows(), batch).into_vec())
            }
        };
        let (pb, qb) = (draw(p, rng), draw(q, rng));
        let grads = {
            let tape = Tape::<F>::new();
            let ctx = Ctx::train(&tape, 0);
            let (pv, qv) = (
                ctx.input(pb.mapv(F::from_f64)),
                ctx.input(qb.mapv(F::from_f64)),
            );
            let dual = critic.mean_gap(&ctx, pv, qv)?;
            let value = dual.item().map_or(f64::NAN, |v| v.as_f64());
            let mut loss = dual.mul_scalar(-1.0);
            if let Some(reg) = critic.regularizer(&ctx, &pb, &qb, rng)? {
                loss = loss.try_add(reg)?;
            }
            let l = loss.item().map_or(f64::NAN, |v| v.as_f64());
            if !l.is_finite() {
                return Err(Error::config(
                    "critic training",
                    format!("the loss became {l} at step {step}: lower the learning rate"),
                ));
            }
            history.push(value);
            ctx.grads(loss)?
        };
        opt.step(critic, &grads)?;
        critic.refresh();
    }
    Ok(DualEstimate {
        value: dual_value(critic, p, q)?,
        history,
    })
}
