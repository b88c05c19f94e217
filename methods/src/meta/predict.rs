//! Local-linear trajectory prediction: the seed's hypothesis that the metaparameter trajectory
//! is locally linear, so a line fitted to the last `m` values can stand in for the next `k`
//! hypergradient steps.
//!
//! The fit is made in the unconstrained coordinates `a` (as the authors fitted their
//! pre-sigmoid `lambda1, lambda2, temp` with `np.polyfit(…, 1)`), so a predicted point is
//! always a valid `$\lambda$`. The schedule alternates: `m` hypergradient steps, a fit, up to `k`
//! predicted steps, back to hypergradients — see [`TrajectoryPredictor`] for when it switches
//! back early.

use crate::{Error, Result};

/// A degree-1 least-squares fit `$y(s) \approx c + b s$` of each coordinate of a trajectory
/// `$y_0, \dots, y_{m-1}$` against its index `$s = 0, \dots, m - 1$`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "[f64; N]: serde::Serialize",
    deserialize = "[f64; N]: serde::Deserialize<'de>"
))]
pub struct LinearFit<const N: usize> {
    /// `c`, per coordinate.
    pub intercept: [f64; N],
    /// `b`, per coordinate.
    pub slope: [f64; N],
    /// `$\sqrt{\frac{1}{m} \sum_s (y_s - c - b s)^{2}}$`, per coordinate: how far from a line the
    /// window was.
    pub residual_rms: [f64; N],
    /// `m`, the number of points fitted.
    pub window: usize,
}

/// The least-squares line through `history` (oldest first), coordinate by coordinate:
///
/// `$b = \sum_s (s - \bar{s})(y_s - \bar{y}) / \sum_s (s - \bar{s})^{2}$`, `$c = \bar{y} - b
/// \bar{s}$`, `$\bar{s} = (m - 1)/2$`,
///
/// with `$y_s$` = `history[s]`, `m = history.len()` (the window). An error naming the window if
/// `m < 2` (a line needs two points) or a value is not finite.
pub fn fit_line<const N: usize>(history: &[[f64; N]]) -> Result<LinearFit<N>> {
    let m = history.len();
    if m < 2 {
        return Err(Error::config(
            "prediction window m",
            format!("must be ≥ 2 (a line needs two points), got {m}"),
        ));
    }
    if history.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::config(
            "prediction window m",
            "the trajectory holds a value that is not finite",
        ));
    }
    let s_mean = (m - 1) as f64 / 2.0;
    let s_ss: f64 = (0..m).map(|s| (s as f64 - s_mean).powi(2)).sum();
    let mut fit = LinearFit {
        intercept: [0.0; N],
        slope: [0.0; N],
        residual_rms: [0.0; N],
        window: m,
    };
    for i in 0..N {
        let y_mean = history.iter().map(|y| y[i]).sum::<f64>() / m as f64;
        let s_y: f64 = history
            .iter()
            .enumerate()
            .map(|(s, y)| (s as f64 - s_mean) * (y[i] - y_mean))
            .sum();
        let b = s_y / s_ss;
        let c = y_mean - b * s_mean;
        let rss: f64 = history
            .iter()
            .enumerate()
            .map(|(s, y)| (y[i] - c - b * s as f64).powi(2))
            .sum();
        fit.intercept[i] = c;
        fit.slope[i] = b;
        fit.residual_rms[i] = (rss / m as f64).sqrt();
    }
    Ok(fit)
}

impl<const N: usize> LinearFit<N> {
    /// `c + b s` at index `s` (`$s = m, m + 1, \dots$` extrapolate past the window).
    pub fn at(&self, s: f64) -> [f64; N] {
        std::array::from_fn(|i| self.intercept[i] + self.slope[i] * s)
    }

    /// The next `k` points past the window: indices `$m, \dots, m + k - 1$`.
    pub fn extrapolate(&self, k: usize) -> Vec<[f64; N]> {
        (0..k).map(|j| self.at((self.window + j) as f64)).collect()
    }

    /// The largest residual RMS over the coordinates.
    pub fn max_residual(&self) -> f64 {
        self.residual_rms.iter().fold(0.0, |a, &b| a.max(b))
    }
}

/// When to predict and when to switch back to hypergradients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PredictionSchedule {
    /// `m`, the hypergradient steps fitted (≥ 2). Default 10 (our choice; the authors fitted
    /// one "mini-epoch" of batches).
    pub window: usize,
    /// `k`, the most steps predicted from one fit (≥ 1). Default 40 (our choice: one
    /// hypergradient window in five, as the authors' `tr_s_epoch = 5`).
    pub horizon: usize,
    /// Predict only if the fit's largest residual RMS (in `a`) is at most this; otherwise
    /// slide the window by one more hypergradient step. Default `$\infty$` (the authors always
    /// predicted).
    pub max_residual: f64,
    /// Switch back early when the validation loss rises above `(1 + r)` times its value when
    /// prediction began. `None`: no guard. Default `Some(0.05)` (our choice). Meaningful when
    /// the validation loss is measured on a fixed set (the whole validation split).
    pub max_val_rise: Option<f64>,
}

impl Default for PredictionSchedule {
    fn default() -> Self {
        PredictionSchedule {
            window: 10,
            horizon: 40,
            max_residual: f64::INFINITY,
            max_val_rise: Some(0.05),
        }
    }
}

impl PredictionSchedule {
    /// Checks the settings; errors name `prediction window m`, `prediction horizon k`, ….
    pub fn validate(&self) -> Result<()> {
        if self.window < 2 {
            return Err(Error::config(
                "prediction window m",
                format!("must be ≥ 2 (a line needs two points), got {}", self.window),
            ));
        }
        if self.horizon == 0 {
            return Err(Error::config("prediction horizon k", "must be ≥ 1, got 0"));
        }
        if self.max_residual.is_nan() || self.max_residual < 0.0 {
            return Err(Error::config(
                "prediction max_residual",
                format!("must be ≥ 0 (∞ allowed), got {}", self.max_residual),
            ));
        }
        if let Some(r) = self.max_val_rise {
            if !(r.is_finite() && r >= 0.0) {
                return Err(Error::config(
                    "prediction max_val_rise",
                    format!("must be finite and ≥ 0, got {r}"),
                ));
            }
        }
        Ok(())
    }
}

/// What to do at the next iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Compute a hypergradient and take a metaparameter step, then [`TrajectoryPredictor::record`].
    Hypergradient,
    /// Use these coordinates `a` (predicted), no hypergradient.
    Predict([f64; 3]),
}

/// Why prediction stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SwitchReason {
    /// `k` steps were predicted.
    Horizon,
    /// The validation loss rose above the guard.
    ValidationRise,
}

/// The prediction schedule as a state machine. Per iteration the caller asks
/// [`decide`](Self::decide) and follows the answer; after each hypergradient step it passes the
/// new coordinates to [`record`](Self::record).
///
/// Switch-back criterion (documented choice): prediction from a fit stops after `k` steps
/// ([`SwitchReason::Horizon`]), or as soon as the validation loss exceeds `(1 + r)` times its
/// value at the first predicted step ([`SwitchReason::ValidationRise`], when `max_val_rise =
/// Some(r)`). Then `m` fresh hypergradient steps are collected before the next fit; a window
/// whose fit has a residual RMS above `max_residual` is not used (the trajectory there is not
/// locally linear) and the window slides by one step.
#[derive(Clone, Debug)]
pub struct TrajectoryPredictor {
    schedule: PredictionSchedule,
    history: Vec<[f64; 3]>,
    predicting: Option<Prediction>,
    hypergradients: usize,
    predicted: usize,
    switches: Vec<SwitchReason>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Prediction {
    fit: LinearFit<3>,
    next: usize,
    val_at_start: Option<f64>,
}

impl TrajectoryPredictor {
    /// A predictor with a checked schedule, starting with hypergradient steps.
    pub fn new(schedule: PredictionSchedule) -> Result<Self> {
        schedule.validate()?;
        Ok(TrajectoryPredictor {
            schedule,
            history: Vec::new(),
            predicting: None,
            hypergradients: 0,
            predicted: 0,
            switches: Vec::new(),
        })
    }

    /// The decision for the next iteration, given the current validation loss (needed only for
    /// the guard; `None` disables it for this call).
    pub fn decide(&mut self, val_loss: Option<f64>) -> Result<Decision> {
        if let Some(p) = &mut self.predicting {
            let horizon_reached = p.next >= p.fit.window + self.schedule.horizon;
            let rose = match (self.schedule.max_val_rise, p.val_at_start, val_loss) {
                (Some(r), Some(start), Some(now)) => now > start * (1.0 + r),
                _ => false,
            };
            if horizon_reached || rose {
                self.switches.push(if horizon_reached {
                    SwitchReason::Horizon
                } else {
                    SwitchReason::ValidationRise
                });
                self.predicting = None;
                self.history.clear();
                return Ok(Decision::Hypergradient);
            }
            let a = p.fit.at(p.next as f64);
            p.next += 1;
            self.predicted += 1;
            return Ok(Decision::Predict(a));
        }
        let m = self.schedule.window;
        if self.history.len() >= m {
            let fit = fit_line(&self.history[self.history.len() - m..])?;
            if fit.max_residual() <= self.schedule.max_residual {
                self.predicting = Some(Prediction {
                    fit,
                    next: m,
                    val_at_start: val_loss,
                });
                return self.decide(val_loss);
            }
            self.history.remove(0);
        }
        Ok(Decision::Hypergradient)
    }

    /// Whether the next [`decide`](Self::decide) will read the validation loss (the guard is on
    /// and a prediction phase is running or about to start): callers can skip measuring it
    /// otherwise.
    pub fn wants_val_loss(&self) -> bool {
        self.schedule.max_val_rise.is_some()
            && (self.predicting.is_some() || self.history.len() >= self.schedule.window)
    }

    /// Records the coordinates `a` after a hypergradient step.
    pub fn record(&mut self, raw: [f64; 3]) {
        self.hypergradients += 1;
        self.history.push(raw);
    }

    /// Hypergradient steps recorded so far.
    pub fn hypergradients(&self) -> usize {
        self.hypergradients
    }

    /// Predicted steps handed out so far (each one a hypergradient computation saved).
    pub fn predicted(&self) -> usize {
        self.predicted
    }

    /// Why each prediction phase ended, in order.
    pub fn switches(&self) -> &[SwitchReason] {
        &self.switches
    }

    /// Its state between two iterations (the schedule aside), for a run saved mid-way.
    pub fn state(&self) -> PredictorState {
        PredictorState {
            history: self.history.clone(),
            predicting: self.predicting.clone(),
            hypergradients: self.hypergradients,
            predicted: self.predicted,
            switches: self.switches.clone(),
        }
    }

    /// The predictor of `schedule` continued from `state` (the [`state`](Self::state) of one
    /// with the same schedule). Errors: the schedule's, or a state that no predictor of this
    /// schedule can be in (named `"prediction state"`).
    pub fn with_state(schedule: PredictionSchedule, state: PredictorState) -> Result<Self> {
        schedule.validate()?;
        let fits = state
            .predicting
            .as_ref()
            .is_none_or(|p| p.fit.window == schedule.window && p.next >= schedule.window);
        if !fits || state.history.len() > schedule.window {
            return Err(Error::config(
                "prediction state",
                format!(
                    "does not belong to a predictor of window m = {}",
                    schedule.window
                ),
            ));
        }
        Ok(TrajectoryPredictor {
            schedule,
            history: state.history,
            predicting: state.predicting,
            hypergradients: state.hypergradients,
            predicted: state.predicted,
            switches: state.switches,
        })
    }
}

/// The state of a [`TrajectoryPredictor`] between iterations, but its schedule: the window of
/// recent coordinates, the running prediction and the counters. Opaque; saved with a run
/// ([`TrajectoryPredictor::state`], [`TrajectoryPredictor::with_state`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PredictorState {
    history: Vec<[f64; 3]>,
    predicting: Option<Prediction>,
    hypergradients: usize,
    predicted: usize,
    switches: Vec<SwitchReason>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exactly linear trajectory is reproduced: the fit recovers the line (intercept, slope,
    /// zero residual) and its extrapolation equals the line's continuation. Round-off only:
    /// sums of ≤ 8 terms of order 10 (≤ 1e-13).
    #[test]
    fn reproduces_an_exactly_linear_trajectory() {
        let line = |s: f64| [0.5 - 0.25 * s, 2.0 + 0.125 * s, -1.0];
        let history: Vec<[f64; 3]> = (0..8).map(|s| line(s as f64)).collect();
        let fit = fit_line(&history).unwrap();
        for (got, want) in fit.intercept.iter().zip([0.5, 2.0, -1.0]) {
            assert!((got - want).abs() < 1e-13, "{got} vs {want}");
        }
        for (got, want) in fit.slope.iter().zip([-0.25, 0.125, 0.0]) {
            assert!((got - want).abs() < 1e-13, "{got} vs {want}");
        }
        assert!(fit.max_residual() < 1e-13);
        for (j, p) in fit.extrapolate(5).iter().enumerate() {
            let want = line((8 + j) as f64);
            for i in 0..3 {
                assert!(
                    (p[i] - want[i]).abs() < 1e-12,
                    "step {j}: {p:?} vs {want:?}"
                );
            }
        }
    }

    /// A hand-computed fit of a bent trajectory: y = 0, 1, 0 at s = 0, 1, 2 has slope 0,
    /// intercept 1/3 and residuals (−1/3, 2/3, −1/3), RMS √(2/9).
    #[test]
    fn fits_a_bent_trajectory_by_least_squares() {
        let fit = fit_line(&[[0.0], [1.0], [0.0]]).unwrap();
        assert!(fit.slope[0].abs() < 1e-15);
        assert!((fit.intercept[0] - 1.0 / 3.0).abs() < 1e-15);
        assert!((fit.residual_rms[0] - (2.0_f64 / 9.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn a_window_below_two_is_an_error_naming_m() {
        for history in [vec![], vec![[1.0, 2.0, 3.0]]] {
            let err = fit_line(&history).unwrap_err().to_string();
            assert!(err.contains("prediction window m"), "{err}");
        }
        let bad = PredictionSchedule {
            window: 1,
            ..PredictionSchedule::default()
        };
        let err = TrajectoryPredictor::new(bad).unwrap_err().to_string();
        assert!(
            err.contains("prediction window m") && err.contains("≥ 2"),
            "{err}"
        );
        let bad = PredictionSchedule {
            horizon: 0,
            ..PredictionSchedule::default()
        };
        let err = TrajectoryPredictor::new(bad).unwrap_err().to_string();
        assert!(err.contains("prediction horizon k"), "{err}");
    }

    /// m = 3 hypergradient steps on a line, then k = 2 predictions continuing it, then back.
    #[test]
    fn alternates_window_and_horizon() {
        let schedule = PredictionSchedule {
            window: 3,
            horizon: 2,
            max_residual: f64::INFINITY,
            max_val_rise: None,
        };
        let mut p = TrajectoryPredictor::new(schedule).unwrap();
        for s in 0..3 {
            assert_eq!(p.decide(None).unwrap(), Decision::Hypergradient);
            p.record([s as f64, 0.0, 1.0]);
        }
        assert_eq!(p.decide(None).unwrap(), Decision::Predict([3.0, 0.0, 1.0]));
        assert_eq!(p.decide(None).unwrap(), Decision::Predict([4.0, 0.0, 1.0]));
        assert_eq!(p.decide(None).unwrap(), Decision::Hypergradient);
        assert_eq!(p.switches(), &[SwitchReason::Horizon]);
        assert_eq!((p.hypergradients(), p.predicted()), (3, 2));
    }

    /// The guard ends prediction at the first validation loss above (1 + r)·start, and a
    /// window that is not linear enough is not used.
    #[test]
    fn switches_back_on_a_validation_rise_and_skips_bent_windows() {
        let schedule = PredictionSchedule {
            window: 2,
            horizon: 10,
            max_residual: 0.1,
            max_val_rise: Some(0.05),
        };
        let mut p = TrajectoryPredictor::new(schedule).unwrap();
        for s in 0..2 {
            assert_eq!(p.decide(Some(1.0)).unwrap(), Decision::Hypergradient);
            p.record([s as f64; 3]);
        }
        assert!(matches!(p.decide(Some(1.0)).unwrap(), Decision::Predict(_)));
        assert!(matches!(
            p.decide(Some(1.04)).unwrap(),
            Decision::Predict(_)
        ));
        assert_eq!(p.decide(Some(1.06)).unwrap(), Decision::Hypergradient);
        assert_eq!(p.switches(), &[SwitchReason::ValidationRise]);
        // A bent window (0, 1, 0 over m = 3 has residual RMS 0.47 > 0.1): keep computing.
        let schedule = PredictionSchedule {
            window: 3,
            ..schedule
        };
        let mut p = TrajectoryPredictor::new(schedule).unwrap();
        for y in [0.0, 1.0, 0.0] {
            assert_eq!(p.decide(None).unwrap(), Decision::Hypergradient);
            p.record([y; 3]);
        }
        assert_eq!(p.decide(None).unwrap(), Decision::Hypergradient);
        p.record([0.0; 3]);
        // the window is now (1, 0, 0): still bent (RMS 0.24)
        assert_eq!(p.decide(None).unwrap(), Decision::Hypergradient);
        p.record([0.0; 3]);
        // (0, 0, 0): a line
        assert_eq!(p.decide(None).unwrap(), Decision::Predict([0.0; 3]));
    }
}
