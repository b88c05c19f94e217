//! The metaparameters `$\lambda = [\beta_{1}, \beta_{2}, T]$` and the parametrisation that keeps
//! them in range.
//!
//! The hypergradient acts on unconstrained coordinates `$a = [a_{1}, a_{2}, a_{3}] \in
//! \mathbb{R}^{3}$` (the authors' `lambda1, lambda2, temp` before their sigmoids); the loss sees
//!
//! `$\beta_{1} = \sigma(a_{1})$`, `$\beta_{2} = \sigma(a_{2})$`, `$T = T_{\min} + (T_{\max} -
//! T_{\min}) \sigma(a_{3})$`,
//!
//! so every value of `a` gives `$\beta \in(0, 1)$` and `$T \in(T_{\min}, T_{\max})$`, and gradient
//! steps on `a` can never leave the range. The authors' range is `$T \in(0.1, 10)$`, `$T = 0.1 + 9.9
//! \sigma(a_{3})$`.

use autograd::{Float, Tape, Var};
use ndarray::arr1;

use crate::{Error, Result};

/// `$\sigma(x) = 1 / (1 + e^{-x})$`, computed without overflow for large `|x|`.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `$\sigma^{-1}(p) = \log(p / (1 - p))$`, for `$p \in(0, 1)$`.
pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// The open range `(T_min, T_max)` of the temperature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TemperatureRange {
    /// `T_min > 0`. Default 0.1, the authors' value.
    pub min: f64,
    /// `T_max > T_min`. Default 10, the authors' value (`0.1 + 9.9`).
    pub max: f64,
}

impl Default for TemperatureRange {
    fn default() -> Self {
        TemperatureRange {
            min: 0.1,
            max: 10.0,
        }
    }
}

impl TemperatureRange {
    /// A checked range: `t_min` finite and `> 0`, `t_max` finite and `> t_min`.
    pub fn new(min: f64, max: f64) -> Result<Self> {
        let range = TemperatureRange { min, max };
        range.validate()?;
        Ok(range)
    }

    /// Checks the range (see [`TemperatureRange::new`]); the error names `t_min` or `t_max`.
    pub fn validate(&self) -> Result<()> {
        if !(self.min.is_finite() && self.min > 0.0) {
            return Err(Error::config(
                "temperature range t_min",
                format!("must be finite and > 0, got {}", self.min),
            ));
        }
        if !(self.max.is_finite() && self.max > self.min) {
            return Err(Error::config(
                "temperature range t_max",
                format!(
                    "must be finite and > t_min = {}, got {}",
                    self.min, self.max
                ),
            ));
        }
        Ok(())
    }

    /// `$T = T_{\min} + (T_{\max} - T_{\min}) \sigma(a_{3})$`.
    pub fn temperature(&self, a3: f64) -> f64 {
        self.min + (self.max - self.min) * sigmoid(a3)
    }

    /// The inverse: `$a_{3} = \sigma^{-1}((T - T_{\min}) / (T_{\max} - T_{\min}))$`, for `T`
    /// strictly inside.
    pub fn coordinate(&self, t: f64) -> Result<f64> {
        if !(t > self.min && t < self.max) {
            return Err(Error::config(
                "temperature T",
                format!(
                    "must lie strictly inside ({}, {}), got {t}",
                    self.min, self.max
                ),
            ));
        }
        Ok(logit((t - self.min) / (self.max - self.min)))
    }
}

/// The metaparameters as the loss sees them: `$\beta_{1}$` weighs the hard-label term,
/// `$\beta_{2}$` the soft-target term, `T` is the soft term's temperature (the seed's `$T_{0}$`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetaValues {
    /// `$\beta_{1} \in(0, 1)$`, weight of the cross-entropy with the labels at `$T = 1$`.
    pub beta1: f64,
    /// `$\beta_{2} \in(0, 1)$`, weight of the cross-entropy with the teacher at temperature `T`.
    pub beta2: f64,
    /// `T`, in the open temperature range.
    pub temperature: f64,
}

/// `$\lambda$` in the unconstrained coordinates `$a = [a_{1}, a_{2}, a_{3}]$` that the
/// hypergradient acts on, with the temperature range that maps `a3` to `T` (see the module
/// documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetaParams {
    /// `$a = [a_{1}, a_{2}, a_{3}]$`: `$\beta_{1} = \sigma(a_{1})$`, `$\beta_{2} = \sigma(a_{2})$`,
    /// `$T = T_{\min} + (T_{\max} - T_{\min}) \sigma(a_{3})$`.
    pub raw: [f64; 3],
    /// `(T_min, T_max)`.
    pub range: TemperatureRange,
}

impl MetaParams {
    /// From unconstrained coordinates; the range is checked, `raw` must be finite.
    pub fn from_raw(raw: [f64; 3], range: TemperatureRange) -> Result<Self> {
        range.validate()?;
        if let Some(bad) = raw.iter().find(|v| !v.is_finite()) {
            return Err(Error::config(
                "metaparameter coordinates a",
                format!("must be finite, got {bad}"),
            ));
        }
        Ok(MetaParams { raw, range })
    }

    /// From the values the loss sees: `$\beta_{1}, \beta_{2} \in(0, 1)$` and `T` strictly inside
    /// the range.
    pub fn from_values(values: MetaValues, range: TemperatureRange) -> Result<Self> {
        range.validate()?;
        for (what, b) in [("β1", values.beta1), ("β2", values.beta2)] {
            if !(b > 0.0 && b < 1.0) {
                return Err(Error::config(
                    format!("metaparameter {what}"),
                    format!("must lie strictly inside (0, 1), got {b}"),
                ));
            }
        }
        let raw = [
            logit(values.beta1),
            logit(values.beta2),
            range.coordinate(values.temperature)?,
        ];
        Ok(MetaParams { raw, range })
    }

    /// The centre of the parametrisation, `$a = 0$`: `$\beta_{1} = \beta_{2} = 1/2$`, `T = (T_min +
    /// T_max)/2` (5.05 in the authors' range). Our default for the fixed-metaparameter baseline.
    pub fn centre(range: TemperatureRange) -> Result<Self> {
        Self::from_raw([0.0; 3], range)
    }

    /// `$\beta_{1} = \sigma(a_{1})$`, `$\beta_{2} = \sigma(a_{2})$`, `$T = T_{\min} + (T_{\max} -
    /// T_{\min}) \sigma(a_{3})$`.
    pub fn values(&self) -> MetaValues {
        MetaValues {
            beta1: sigmoid(self.raw[0]),
            beta2: sigmoid(self.raw[1]),
            temperature: self.range.temperature(self.raw[2]),
        }
    }

    /// The same range with new coordinates (no check: callers pass finite values).
    pub fn with_raw(&self, raw: [f64; 3]) -> Self {
        MetaParams {
            raw,
            range: self.range,
        }
    }
}

/// The metaparameters on a tape: the unconstrained leaf `a` (shape `[3]`) and the three
/// values computed from it by the parametrisation, each 0-dimensional.
#[derive(Clone, Copy, Debug)]
pub struct MetaVars<'t, F: Float> {
    /// `a`, shape `[3]`: differentiate with respect to this.
    pub raw: Var<'t, F>,
    /// `$\beta_{1} = \sigma(a_{1})$`.
    pub beta1: Var<'t, F>,
    /// `$\beta_{2} = \sigma(a_{2})$`.
    pub beta2: Var<'t, F>,
    /// `$T = T_{\min} + (T_{\max} - T_{\min}) \sigma(a_{3})$`.
    pub temperature: Var<'t, F>,
}

impl<'t, F: Float> MetaVars<'t, F> {
    /// Puts `a` on `tape` as a parameter (gradients flow to it) and builds `$\beta_{1}, \beta_{2},
    /// T$`.
    pub fn param(tape: &'t Tape<F>, meta: &MetaParams) -> Result<Self> {
        let raw = tape.param(arr1(&meta.raw.map(F::from_f64)));
        Self::from_raw_var(raw, meta.range)
    }

    /// Puts `a` on `tape` as a constant (no hypergradient: the fixed-metaparameter runs).
    pub fn constant(tape: &'t Tape<F>, meta: &MetaParams) -> Result<Self> {
        let raw = tape.constant(arr1(&meta.raw.map(F::from_f64)));
        Self::from_raw_var(raw, meta.range)
    }

    /// `$\beta_{1}, \beta_{2}, T$` from a variable `a` of shape `[3]` already on a tape (for
    /// gradient checks that own their inputs).
    pub fn from_raw_var(raw: Var<'t, F>, range: TemperatureRange) -> Result<Self> {
        range.validate()?;
        if raw.shape() != [3] {
            return Err(Error::config(
                "metaparameter coordinates a",
                format!("must have shape [3], got {:?}", raw.shape()),
            ));
        }
        let component = |i: usize| -> Result<Var<'t, F>> {
            Ok(raw.slice(0, i, i + 1)?.reshape(&[])?.sigmoid())
        };
        Ok(MetaVars {
            raw,
            beta1: component(0)?,
            beta2: component(1)?,
            temperature: component(2)?
                .mul_scalar(range.max - range.min)
                .add_scalar(range.min),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_coordinates() {
        let range = TemperatureRange::default();
        let values = MetaValues {
            beta1: 0.3,
            beta2: 0.9,
            temperature: 4.0,
        };
        let back = MetaParams::from_values(values, range).unwrap().values();
        // logit then sigmoid: a few ulps of round-off on values of order 1–10.
        assert!((back.beta1 - 0.3).abs() < 1e-14);
        assert!((back.beta2 - 0.9).abs() < 1e-14);
        assert!((back.temperature - 4.0).abs() < 1e-13);
    }

    #[test]
    fn the_centre_is_half_and_the_middle_of_the_range() {
        let v = MetaParams::centre(TemperatureRange::default())
            .unwrap()
            .values();
        assert_eq!((v.beta1, v.beta2), (0.5, 0.5));
        assert_eq!(v.temperature, 0.1 + 9.9 * 0.5);
    }

    /// Any coordinates, however extreme, give values inside the ranges (the reason for the
    /// parametrisation); at ±40 the sigmoid is 1 or 4e-18 away from its limit, so the closed
    /// bounds are what can be asserted there.
    #[test]
    fn metaparameters_stay_in_range_for_any_coordinates() {
        let range = TemperatureRange::new(0.5, 3.0).unwrap();
        for a in [-40.0, -5.0, -0.3, 0.0, 0.7, 6.0, 40.0] {
            let v = MetaParams::from_raw([a, -a, a], range).unwrap().values();
            for b in [v.beta1, v.beta2] {
                assert!((0.0..=1.0).contains(&b), "β = {b} at a = {a}");
            }
            assert!(
                (range.min..=range.max).contains(&v.temperature),
                "T = {} at a = {a}",
                v.temperature
            );
            if a.abs() < 10.0 {
                assert!(v.beta1 > 0.0 && v.beta1 < 1.0);
                assert!(v.temperature > range.min && v.temperature < range.max);
            }
        }
    }

    #[test]
    fn the_tape_values_match_the_f64_parametrisation() {
        let meta = MetaParams::from_raw([0.4, -1.2, 2.0], TemperatureRange::default()).unwrap();
        let tape = Tape::<f64>::new();
        let vars = MetaVars::param(&tape, &meta).unwrap();
        let v = meta.values();
        // The same formula in the same precision: equal to round-off.
        assert!((vars.beta1.item().unwrap() - v.beta1).abs() < 1e-15);
        assert!((vars.beta2.item().unwrap() - v.beta2).abs() < 1e-15);
        assert!((vars.temperature.item().unwrap() - v.temperature).abs() < 1e-14);
    }

    #[test]
    fn bad_ranges_and_values_name_their_key() {
        let err = TemperatureRange::new(0.0, 10.0).unwrap_err().to_string();
        assert!(err.contains("t_min") && err.contains("> 0"), "{err}");
        let err = TemperatureRange::new(-1.0, 10.0).unwrap_err().to_string();
        assert!(err.contains("t_min"), "{err}");
        let err = TemperatureRange::new(2.0, 2.0).unwrap_err().to_string();
        assert!(err.contains("t_max"), "{err}");
        let bad = MetaValues {
            beta1: 1.0,
            beta2: 0.5,
            temperature: 1.0,
        };
        let err = MetaParams::from_values(bad, TemperatureRange::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("β1"), "{err}");
        let bad = MetaValues {
            beta1: 0.5,
            beta2: 0.5,
            temperature: 10.0,
        };
        let err = MetaParams::from_values(bad, TemperatureRange::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("temperature T"), "{err}");
    }
}
