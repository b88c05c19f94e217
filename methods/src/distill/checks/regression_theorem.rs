//! The S4 regression theorem, checked numerically: the minimiser of the probabilistic
//! regression objective, found by gradient descent on the tape, equals the weighted
//! least-squares closed form.

use autograd::Tape;
use ndarray::{Array1, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{CheckKind, CheckOutcome};
use crate::distill::index_set::IndexSet;
use crate::distill::regression::{prob_regression_loss, ProbRegressionConfig};
use crate::distill::wls::solve_prob_regression;
use crate::distill::Reduction;
use crate::{Error, Result};

/// The random instances and the optimiser's stopping rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionTheoremConfig {
    /// Number of random instances. Default 8.
    pub instances: usize,
    /// Objects per instance (`n`). Default 40.
    pub samples: usize,
    /// Features (`p`, the length of `w`). Default 4.
    pub features: usize,
    /// Seed of the instances. Default 2020 (the theorem's year).
    pub seed: u64,
    /// Gradient descent stops when `‖∇L‖₂ ≤ grad_tol`. Default 1e-11: a hundred times the rounding
    /// floor of the f64 gradient (`$\approx 1.1e-16 \times$` the magnitudes summed, here ≲ 1e-13).
    pub grad_tol: f64,
    /// Gradient descent gives up after this many steps. Default 200 000.
    pub max_steps: usize,
    /// Pass when `max ‖w_GD − w_WLS‖ / ‖w_WLS‖ ≤ tolerance`. Default 1e-8; see
    /// [`check_regression_theorem`].
    pub tolerance: f64,
}

impl Default for RegressionTheoremConfig {
    fn default() -> Self {
        RegressionTheoremConfig {
            instances: 8,
            samples: 40,
            features: 4,
            seed: 2020,
            grad_tol: 1e-11,
            max_steps: 200_000,
            tolerance: 1e-8,
        }
    }
}

/// One random instance: data, teacher answers, `I` and the metaparameters.
struct Instance {
    x: Array2<f64>,
    y: Array1<f64>,
    s: Array1<f64>,
    index: IndexSet,
    cfg: ProbRegressionConfig,
}

/// Draws, in this order: `X` (`$n \times p$`, N(0,1), row-major), `w_true` (N(0,1)), label noise
/// (`$y = X w_{\mathrm{true}} + 0.5\cdot \mathcal{N}(0,1)$`), `$w_{\mathrm{teacher}} =
/// w_{\mathrm{true}} + 0.5\cdot \mathcal{N}(0,1)$` (so the teacher answers `$s_i = x_i^{\top}
/// w_{\mathrm{teacher}}$` disagree with the labels and move the minimiser), the mask of `I` (each
/// object with probability 1/2), then `$\lambda \sim U[0, 1]$`, `$\sigma \sim U[0.5, 2]$`,
/// `$\sigma_s \sim U[0.5, 2]$`.
fn draw_instance(n: usize, p: usize, rng: &mut StdRng) -> Instance {
    let mut normal = || -> f64 { rng.sample(StandardNormal) };
    let x = Array2::from_shape_simple_fn((n, p), &mut normal);
    let w_true = Array1::from_shape_simple_fn(p, &mut normal);
    let noise = Array1::from_shape_simple_fn(n, &mut normal);
    let w_teacher = &w_true + &Array1::from_shape_simple_fn(p, &mut normal).mapv(|v| 0.5 * v);
    let y = x.dot(&w_true) + noise.mapv(|v| 0.5 * v);
    let index = IndexSet::from_mask((0..n).map(|_| rng.gen_bool(0.5)).collect());
    let teacher_all = x.dot(&w_teacher);
    let s = index.indices().iter().map(|&i| teacher_all[i]).collect();
    let cfg = ProbRegressionConfig {
        lambda: rng.gen_range(0.0..=1.0),
        sigma: rng.gen_range(0.5..=2.0),
        sigma_s: rng.gen_range(0.5..=2.0),
        reduction: Reduction::Mean,
    };
    Instance {
        x,
        y,
        s,
        index,
        cfg,
    }
}

/// The result of gradient descent on one instance.
struct Descent {
    w: Array1<f64>,
    steps: usize,
    grad_norm: f64,
}

/// Full-batch gradient descent on [`prob_regression_loss`] with `$g(x) = w^{\top}x$`, from `$w =
/// 0$`, with the gradient from the tape. Step `$\eta = 1/\hat{L}$`, `$\hat{L}$` the largest Hessian
/// eigenvalue estimated by 50 power iterations with the tape's exact Hessian-vector products
/// (`$\eta < 2/L$` keeps the descent stable whenever `$\hat{L} > L/2$`).
fn descend(inst: &Instance, cfg: &RegressionTheoremConfig) -> Result<Descent> {
    let p = inst.x.ncols();
    let loss_and_grad = |w: &Array1<f64>, direction: Option<&Array1<f64>>| -> Result<_> {
        let tape = Tape::<f64>::new();
        let column = |v: &Array1<f64>| v.clone().into_shape_with_order((p, 1)).expect("p×1");
        let wv = tape.param(column(w));
        let pred = tape
            .constant(inst.x.view())
            .matmul(wv)?
            .reshape(&[inst.x.nrows()])?;
        let loss = prob_regression_loss(
            pred,
            tape.constant(inst.y.view()),
            tape.constant(inst.s.view()),
            &inst.index,
            &inst.cfg,
        )?;
        let grad = tape.grad(loss, &[wv])?.remove(0);
        let hv = match direction {
            Some(v) => Some(tape.hvp(loss, &[wv], &[column(v).into_dyn().into_shared()])?),
            None => None,
        };
        let grad = Array1::from_iter(grad.iter().copied());
        Ok((grad, hv.map(|h| Array1::from_iter(h[0].iter().copied()))))
    };
    let zero = Array1::<f64>::zeros(p);
    let mut v = Array1::from_elem(p, 1.0 / (p as f64).sqrt());
    let mut eigen = 0.0;
    for _ in 0..50 {
        let (_, hv) = loss_and_grad(&zero, Some(&v))?;
        let hv = hv.expect("direction given");
        eigen = hv.dot(&hv).sqrt();
        if eigen == 0.0 {
            return Err(Error::config(
                "regression theorem check",
                "the objective's Hessian is zero",
            ));
        }
        v = hv / eigen;
    }
    let step_size = 1.0 / eigen;
    let mut w = zero;
    for steps in 0..=cfg.max_steps {
        let (grad, _) = loss_and_grad(&w, None)?;
        let grad_norm = grad.dot(&grad).sqrt();
        if grad_norm <= cfg.grad_tol || steps == cfg.max_steps {
            return Ok(Descent {
                w,
                steps,
                grad_norm,
            });
        }
        w = w - grad * step_size;
    }
    unreachable!("the loop returns at steps == max_steps")
}

/// Checks the S4 regression theorem on `cfg.instances` random instances (see `draw_instance`
/// for the distributions): for each, the minimiser of the probabilistic regression objective
/// found by gradient descent on the tape ([`prob_regression_loss`], gradients by
/// `Tape::grad`) is compared with the closed form ([`solve_prob_regression`]).
///
/// Measured: `max_instances ‖w_GD − w_WLS‖₂ / ‖w_WLS‖₂`. Tolerance (default 1e-8), justified: the
/// objective is `$\mu$`-strongly convex with `$\mu = (2/n)\cdot
/// \lambda_{\min}(X^{\top}\mathrm{DX})$`, so at the stopping point `‖w_GD − w*‖ ≤ ‖∇L(w_GD)‖/μ ≤
/// grad_tol/μ` (printed per instance, ≈ 1e-11 relative on the default instances), and the Cholesky
/// solution is within `$\approx \kappa \cdot 1.1e-16$` of `w*`. Both are orders of magnitude below
/// 1e-8, while an error in either form (a weight `$\sigma'_i$`, a target `y''_i`) moves the
/// minimiser by `$O(\lambda)$` relative. Also fails if descent did not reach `grad_tol` within
/// `max_steps`.
pub fn check_regression_theorem(cfg: &RegressionTheoremConfig) -> Result<CheckOutcome> {
    if cfg.instances == 0 || cfg.features == 0 || cfg.samples < cfg.features {
        return Err(Error::config(
            "regression theorem check",
            format!(
                "needs ≥ 1 instance, ≥ 1 feature and at least as many objects as features, got \
                 {} instances, {} objects, {} features",
                cfg.instances, cfg.samples, cfg.features
            ),
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut worst: f64 = 0.0;
    let mut all_converged = true;
    let mut detail = String::from(
        "inst  |I|/n   λ      σ      σ_s    steps   ‖∇L‖      bound ‖∇L‖/(μ‖w‖)  rel. error  κ(XᵀDX)\n",
    );
    for k in 0..cfg.instances {
        let inst = draw_instance(cfg.samples, cfg.features, &mut rng);
        let closed = solve_prob_regression(
            inst.x.view(),
            inst.y.view(),
            inst.s.view(),
            &inst.index,
            &inst.cfg,
        )?;
        let gd = descend(&inst, cfg)?;
        let w_norm = closed.w.dot(&closed.w).sqrt();
        let diff = &gd.w - &closed.w;
        let rel = diff.dot(&diff).sqrt() / w_norm;
        let mu = 2.0 * closed.eigen_min / cfg.samples as f64;
        let bound = gd.grad_norm / mu / w_norm;
        let converged = gd.grad_norm <= cfg.grad_tol;
        all_converged &= converged;
        worst = worst.max(rel);
        detail.push_str(&format!(
            "{k:>4}  {:>2}/{:<3} {:.3}  {:.3}  {:.3}  {:>6}  {:.2e}  {:.2e}           {:.2e}    {:.1}{}\n",
            inst.index.len(),
            cfg.samples,
            inst.cfg.lambda,
            inst.cfg.sigma,
            inst.cfg.sigma_s,
            gd.steps,
            gd.grad_norm,
            bound,
            rel,
            closed.condition(),
            if converged { "" } else { "  (did not converge)" },
        ));
    }
    let passed = all_converged && worst <= cfg.tolerance;
    detail.push_str(&format!(
        "tolerance {:.0e} on the relative error: strong convexity bounds the descent's error by \
         the 'bound' column, the closed form's rounding by κ·1.1e-16.\n",
        cfg.tolerance
    ));
    Ok(CheckOutcome {
        name: "s4-regression-theorem".into(),
        kind: CheckKind::SeedClaim,
        statement: "for g(x) = wᵀx, argmin of Σ_{i∉I} σ²(y_i−g)² + (1−λ)Σ_{i∈I} σ²(y_i−g)² + \
                    λΣ_{i∈I} σ_s²(s_i−g)² (by gradient descent on the tape) = the weighted \
                    least squares (XᵀDX)⁻¹XᵀDy'' with D = diag(σ'), y'' = y'/σ'"
            .into(),
        measured: worst,
        tolerance: cfg.tolerance,
        passed,
        detail,
    })
}
