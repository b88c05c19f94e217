//! The exact hypergradient against central finite differences, on a small f64 problem: SGD and
//! Adam, one step and `k` unrolled steps; and the same comparison catching the authors'
//! finite-difference precedence slip.
//!
//! The problem: the seed's sign data (`nn::data::synthetic::sign_samples`, `$x \in
//! \mathbb{R}^{3}$`, two classes), a smooth student `$3 \to \mathrm{hidden} \to 2$` with `tanh` (a
//! ReLU's kinks would make finite differences unreliable), a teacher whose logits are `$(-c x_{1}
//! x_{2}, c x_{1} x_{2})$` with `$c = 1.5$` (it knows the rule `$y = \operatorname{sign} (x_{1}
//! x_{2} + \delta)$`), `k + 1` training batches and one validation batch.

use ndarray::Array2;
use nn::data::synthetic::sign_samples;
use nn::layers::{mlp, Activation, Sequential};
use nn::loss::TemperatureScaling;
use nn::optim::AdamConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::fd::{authors_fd_hypergradient, central_difference_hypergradient, FdFormula};
use crate::distill::checks::{CheckKind, CheckOutcome};
use crate::meta::hypergrad::{apply_step, hypergradient, LowerLevel, TrainBatch, ValBatch};
use crate::meta::metaparams::{MetaParams, TemperatureRange};
use crate::meta::step::{InnerOptimizer, InnerState};
use crate::{Error, Result};

/// The optimiser a check differentiates through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// `$U = w - \gamma g$`.
    Sgd,
    /// Adam with bias correction, from a warm state.
    Adam,
}

impl StepKind {
    /// `"sgd"` or `"adam"`.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Sgd => "sgd",
            StepKind::Adam => "adam",
        }
    }
}

/// The problem and tolerances of the hypergradient checks.
#[derive(Clone, Debug, PartialEq)]
pub struct HypergradCheckConfig {
    /// Seeds the data and the student's initialisation. Default 2021 (the seed's year).
    pub seed: u64,
    /// Rows per batch. Default 16.
    pub batch_size: usize,
    /// The student's hidden width. Default 4.
    pub hidden: usize,
    /// `k` of the unrolled check. Default 5.
    pub unrolled_steps: usize,
    /// SGD's `$\gamma$`. Default 0.5 (large enough that the step moves the validation loss
    /// visibly).
    pub sgd_lr: f64,
    /// Adam's `$\eta$`. Default 0.05 (other settings PyTorch's, as the authors used).
    pub adam_lr: f64,
    /// Real Adam steps taken before the check, so that Adam's moments are warm (the authors'
    /// calculator skipped the hypergradient while Adam's state was empty). Default 3.
    pub warmup_steps: usize,
    /// The coordinates `a` at which the hypergradient is checked. Default `$[0.3, -0.5, 0.2]$`
    /// (`$\beta_{1} \approx 0.57$`, `$\beta_{2} \approx 0.38$`, `$T \approx 5.5$`).
    pub raw: [f64; 3],
    /// The finite-difference step in `a`. Default `1e-5`: truncation `$\varepsilon^{2}/6\cdot|F'''|
    /// \approx 2e-11$` for `|F'''| ≲ 1`, rounding `$u\cdot|F|/\varepsilon \approx 1e-11$` for `$F
    /// \approx 1$`.
    pub fd_step: f64,
    /// Absolute tolerance. Default `1e-9`: a hundred times the finite difference's error
    /// budget above, and far below the hypergradients compared (≳ 1e-5 in this problem, listed
    /// in each outcome's detail).
    pub atol: f64,
    /// Relative tolerance (to the finite difference). Default `1e-6`.
    pub rtol: f64,
}

impl Default for HypergradCheckConfig {
    fn default() -> Self {
        HypergradCheckConfig {
            seed: 2021,
            batch_size: 16,
            hidden: 4,
            unrolled_steps: 5,
            sgd_lr: 0.5,
            adam_lr: 0.05,
            warmup_steps: 3,
            raw: [0.3, -0.5, 0.2],
            fd_step: 1e-5,
            atol: 1e-9,
            rtol: 1e-6,
        }
    }
}

/// One instance of the bilevel problem: everything [`hypergradient`] takes.
pub struct CheckProblem {
    /// The student, at its (warmed-up) parameters `w`.
    pub model: Sequential<f64>,
    /// `$\lambda$`.
    pub meta: MetaParams,
    /// The optimiser and the soft term's scaling.
    pub lower: LowerLevel,
    /// The optimiser's state at `w`.
    pub state: InnerState<f64>,
    /// The `k` training batches of the unrolled steps.
    pub train: Vec<TrainBatch<f64>>,
    /// The validation batch.
    pub val: ValBatch<f64>,
}

/// The teacher's logits `$(-c x_{1} x_{2}, c x_{1} x_{2})$`, `$c = 1.5$`.
fn teacher_logits(x: &Array2<f64>) -> Array2<f64> {
    let mut v = Array2::zeros((x.nrows(), 2));
    for (i, row) in x.rows().into_iter().enumerate() {
        let s = 1.5 * row[0] * row[1];
        v[[i, 0]] = -s;
        v[[i, 1]] = s;
    }
    v
}

/// The problem of the module documentation with `steps` unrolled training batches (plus
/// `cfg.warmup_steps` for Adam's warm-up, taken with the same `$\lambda$`).
pub fn check_problem(
    cfg: &HypergradCheckConfig,
    kind: StepKind,
    steps: usize,
) -> Result<CheckProblem> {
    if cfg.batch_size == 0 || cfg.hidden == 0 {
        return Err(Error::config(
            "hypergradient check",
            "batch_size and hidden must be ≥ 1",
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let model = mlp::<f64>(&[3, cfg.hidden, 2], Activation::Tanh, true, &mut rng);
    let mut batch = || -> Result<(Array2<f64>, Vec<usize>)> {
        let (x, y) = sign_samples::<f64, _>(cfg.batch_size, 0.5, &mut rng)?.into_parts();
        Ok((x, y.to_vec()))
    };
    let warmup = match kind {
        StepKind::Sgd => 0,
        StepKind::Adam => cfg.warmup_steps,
    };
    let mut train = Vec::new();
    for _ in 0..warmup + steps {
        let (x, labels) = batch()?;
        let teacher_logits = teacher_logits(&x);
        train.push(TrainBatch {
            x,
            labels,
            teacher_logits,
        });
    }
    let (x, labels) = batch()?;
    let optimizer = match kind {
        StepKind::Sgd => InnerOptimizer::Sgd { lr: cfg.sgd_lr },
        StepKind::Adam => InnerOptimizer::Adam(AdamConfig::adam(cfg.adam_lr)),
    };
    let mut problem = CheckProblem {
        model,
        meta: MetaParams::from_raw(cfg.raw, TemperatureRange::default())?,
        lower: LowerLevel {
            optimizer,
            scaling: TemperatureScaling::None,
        },
        state: InnerState::default(),
        train: Vec::new(),
        val: ValBatch { x, labels },
    };
    for b in &train[..warmup] {
        apply_step(
            &mut problem.model,
            &problem.meta,
            &problem.lower,
            &mut problem.state,
            b,
        )?;
    }
    problem.train = train.split_off(warmup);
    Ok(problem)
}

/// `$\max_i |c_i - r_i| / (\mathrm{atol} + \mathrm{rtol}\cdot|r_i|)$` (≤ 1: every component within
/// tolerance; NaN if any value is NaN, which then fails every `$\le$` comparison).
pub fn worst_ratio(candidate: &[f64; 3], reference: &[f64; 3], atol: f64, rtol: f64) -> f64 {
    candidate
        .iter()
        .zip(reference)
        .map(|(c, r)| (c - r).abs() / (atol + rtol * r.abs()))
        .fold(0.0, |m, v| if v.is_nan() || v > m { v } else { m })
}

fn row(label: &str, h: &[f64; 3]) -> String {
    format!(
        "{label:<26} [{:+.9e}, {:+.9e}, {:+.9e}]\n",
        h[0], h[1], h[2]
    )
}

/// The exact hypergradient through `steps` unrolled steps of `kind` against central finite
/// differences of `$a \mapsto L_{\mathrm{val}}(U^k(w, \lambda(a)))$`, component by component:
/// passes when `|exact − fd| ≤ atol + rtol·|fd|` in each of the three. Measured: the worst ratio of
/// the error to its tolerance (≤ 1 passes).
pub fn check_hypergradient(
    cfg: &HypergradCheckConfig,
    kind: StepKind,
    steps: usize,
) -> Result<CheckOutcome> {
    let p = check_problem(cfg, kind, steps)?;
    let exact = hypergradient(&p.model, &p.meta, &p.lower, &p.state, &p.train, &p.val)?;
    let fd = central_difference_hypergradient(
        &p.model,
        &p.meta,
        &p.lower,
        &p.state,
        &p.train,
        &p.val,
        cfg.fd_step,
    )?;
    let ratio = worst_ratio(&exact.grad, &fd, cfg.atol, cfg.rtol);
    let passed = ratio <= 1.0;
    Ok(CheckOutcome {
        name: format!("s3-hypergradient-{}-{steps}", kind.name()),
        kind: CheckKind::Property,
        statement: format!(
            "∇_a L_val(U^{steps}(w, λ(a))) on the tape ({}) = central finite differences",
            p.lower.optimizer.describe()
        ),
        measured: ratio,
        tolerance: 1.0,
        passed,
        detail: format!(
            "{}{}L_val after the steps = {:.9}; finite-difference step {:.0e}; \
             tolerance per component {:.0e} + {:.0e}·|fd|; worst at {ratio:.3e} of it\n",
            row("exact (tape)", &exact.grad),
            row("central differences", &fd),
            exact.val_loss,
            cfg.fd_step,
            cfg.atol,
            cfg.rtol
        ),
    })
}

/// The same comparison applied to the authors' estimate with their precedence slip (`$(p -
/// n)/2\cdot \varepsilon$`, see [`FdFormula::PrecedenceSlip`]), one SGD step: the check must reject
/// it. Passes when the slipped estimate's worst ratio exceeds 1 (the comparison fails) while the
/// exact hypergradient's is within 1. The detail also lists the authors' estimate without the slip
/// (close to the exact value for SGD, off by its `$O(\varepsilon^{2})$` error) and with an Adam
/// step (which it does not differentiate: the formula is SGD's).
pub fn check_precedence_slip_is_caught(cfg: &HypergradCheckConfig) -> Result<CheckOutcome> {
    let p = check_problem(cfg, StepKind::Sgd, 1)?;
    let args = (&p.model, &p.meta, &p.lower, &p.state);
    let exact = hypergradient(args.0, args.1, args.2, args.3, &p.train, &p.val)?.grad;
    let fd = central_difference_hypergradient(
        args.0,
        args.1,
        args.2,
        args.3,
        &p.train,
        &p.val,
        cfg.fd_step,
    )?;
    let authors = |formula| {
        authors_fd_hypergradient(args.0, args.1, args.2, args.3, &p.train[0], &p.val, formula)
    };
    let slipped = authors(FdFormula::PrecedenceSlip)?;
    let intended = authors(FdFormula::Central)?;
    let adam = check_problem(cfg, StepKind::Adam, 1)?;
    let adam_exact = hypergradient(
        &adam.model,
        &adam.meta,
        &adam.lower,
        &adam.state,
        &adam.train,
        &adam.val,
    )?
    .grad;
    let adam_authors = authors_fd_hypergradient(
        &adam.model,
        &adam.meta,
        &adam.lower,
        &adam.state,
        &adam.train[0],
        &adam.val,
        FdFormula::Central,
    )?;
    let ratio = |c: &[f64; 3], r: &[f64; 3]| worst_ratio(c, r, cfg.atol, cfg.rtol);
    let slip_ratio = ratio(&slipped, &fd);
    let exact_ratio = ratio(&exact, &fd);
    let passed = slip_ratio > 1.0 && exact_ratio <= 1.0;
    let rel = |c: &[f64; 3], r: &[f64; 3]| {
        let num: f64 = c.iter().zip(r).map(|(a, b)| (a - b) * (a - b)).sum();
        let den: f64 = r.iter().map(|b| b * b).sum();
        (num / den).sqrt()
    };
    Ok(CheckOutcome {
        name: "s3-fd-precedence-slip".into(),
        kind: CheckKind::Property,
        statement: "the hypergradient check rejects the authors' finite difference with its \
                    precedence slip, (p − n)/2·ε instead of (p − n)/(2ε) (one SGD step)"
            .into(),
        measured: slip_ratio,
        tolerance: 1.0,
        passed,
        detail: format!(
            "{}{}{}{}slipped: worst at {slip_ratio:.3e} of the tolerance (must exceed 1); exact: \
             {exact_ratio:.3e} (must be ≤ 1)\n\
             relative error ‖h − fd‖/‖fd‖: slipped {:.3e}, intended {:.3e}, exact {:.3e}\n\
             with an Adam step ({}): exact {}authors' intended formula {}\
             relative difference {:.3e} (the formula omits Adam's Jacobian)\n",
            row("central differences", &fd),
            row("exact (tape)", &exact),
            row("authors, intended (2ε)", &intended),
            row("authors, slipped (/2·ε)", &slipped),
            rel(&slipped, &fd),
            rel(&intended, &fd),
            rel(&exact, &fd),
            adam.lower.optimizer.describe(),
            row("", &adam_exact).trim_start(),
            row("", &adam_authors).trim_start(),
            rel(&adam_authors, &adam_exact),
        ),
    })
}

/// Every check of this file with `cfg`: SGD and Adam, one step and `cfg.unrolled_steps`
/// steps, then the precedence slip.
pub fn run_hypergradient_checks(cfg: &HypergradCheckConfig) -> Result<Vec<CheckOutcome>> {
    let mut out = Vec::new();
    for kind in [StepKind::Sgd, StepKind::Adam] {
        for steps in [1, cfg.unrolled_steps] {
            out.push(check_hypergradient(cfg, kind, steps)?);
        }
    }
    out.push(check_precedence_slip_is_caught(cfg)?);
    Ok(out)
}
