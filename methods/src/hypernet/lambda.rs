//! The complexity weight `$\lambda$`: how the hypernetwork reads it (`$t = e(\lambda)$`), and how
//! training draws it (`$\lambda \sim U(\Lambda)$`).

use rand::Rng;

use crate::{Error, Result};

/// Errors unless `$\lambda$` is a finite number `$\ge 0$`; `what` names the setting.
pub fn check_lambda(lambda: f64, what: &str) -> Result<()> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("λ must be a finite number ≥ 0, got {lambda}"),
        ))
    }
}

/// The input `$t = e(\lambda)$` of a hypernetwork: the seed writes `$G(\lambda)$`; the authors'
/// code fed the hypernetwork `$(\ln \lambda - \ln 0.01) / (\ln 100 - \ln 0.01)$`, which maps their
/// grid 0.01 … 100 onto `[0, 1]` but is undefined at `$\lambda = 0$`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LambdaEncoding {
    /// `$t = \ln(1 + \lambda/\lambda_{\min}) / \ln(1 + \lambda_{\max}/\lambda_{\min})$`: `$t(0) =
    /// 0$`, `$t(\lambda_{\max}) = 1$`, and logarithmic above `$\lambda_{\min}$` (`$t \approx(\ln
    /// \lambda - \ln \lambda_{\min}) / (\ln \lambda_{\max} - \ln \lambda_{\min})$` for `$\lambda
    /// \gg \lambda_{\min}$`), so each decade of the authors' grid gets an equal share of `[0, 1]`
    /// while `$\lambda = 0$` stays reachable (our reading; the default).
    Log1p {
        /// `$\lambda_{\min} > 0$`: where the encoding turns logarithmic.
        min: f64,
        /// `$\lambda_{\max} > \lambda_{\min}$`: encoded as 1.
        max: f64,
    },
    /// `$t = \lambda$`: the seed's formula as written.
    Identity,
}

impl LambdaEncoding {
    /// The log encoding on `[min, max]`; errors unless `$0 < \min < \max < \infty$`.
    pub fn log1p(min: f64, max: f64) -> Result<Self> {
        if !(min > 0.0 && max > min && max.is_finite()) {
            return Err(Error::config(
                "λ encoding",
                format!("needs 0 < lambda_min < lambda_max < ∞, got {min} and {max}"),
            ));
        }
        Ok(LambdaEncoding::Log1p { min, max })
    }

    /// `$t = e(\lambda)$`; errors unless `$\lambda \ge 0$` is finite.
    pub fn encode(&self, lambda: f64) -> Result<f64> {
        check_lambda(lambda, "hypernetwork λ")?;
        Ok(match *self {
            LambdaEncoding::Log1p { min, max } => (lambda / min).ln_1p() / (max / min).ln_1p(),
            LambdaEncoding::Identity => lambda,
        })
    }
}

/// The scale on which `$\lambda$` is drawn between its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LambdaScale {
    /// `$\ln \lambda \sim U(\ln \lambda_{\min}, \ln \lambda_{\max})$` (the authors' code: `$\lambda =
    /// 10^u$`, `$u \sim U(-2, 2)$`).
    Log,
    /// `$\lambda \sim U(\lambda_{\min}, \lambda_{\max})$` (the seed's `$U(\Lambda)$` read
    /// literally).
    Linear,
}

/// `$\lambda \sim U(\Lambda)$`: with probability `zero_probability` exactly 0 (so that the
/// objective without the KL term is trained too), otherwise drawn between `min` and `max` on
/// `scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LambdaSampler {
    /// Log or linear.
    pub scale: LambdaScale,
    /// `$\lambda_{\min}$` (`> 0` on the log scale, `$\ge 0$` on the linear one).
    pub min: f64,
    /// `$\lambda_{\max} > \lambda_{\min}$`.
    pub max: f64,
    /// The probability of `$\lambda = 0$`, in `[0, 1]`.
    pub zero_probability: f64,
}

impl LambdaSampler {
    /// Errors naming the offending bound unless the sampler is well defined.
    pub fn validate(&self) -> Result<()> {
        let low_ok = match self.scale {
            LambdaScale::Log => self.min > 0.0,
            LambdaScale::Linear => self.min >= 0.0,
        };
        if !(low_ok && self.max > self.min && self.max.is_finite()) {
            return Err(Error::config(
                "λ sampler",
                format!(
                    "needs {} lambda_min < lambda_max < ∞, got {} and {}",
                    match self.scale {
                        LambdaScale::Log => "0 <",
                        LambdaScale::Linear => "0 ≤",
                    },
                    self.min,
                    self.max
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.zero_probability) {
            return Err(Error::config(
                "λ sampler",
                format!(
                    "zero_probability must be in [0, 1], got {}",
                    self.zero_probability
                ),
            ));
        }
        Ok(())
    }

    /// One draw.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        if self.zero_probability > 0.0 && rng.gen::<f64>() < self.zero_probability {
            return 0.0;
        }
        let u: f64 = rng.gen();
        match self.scale {
            LambdaScale::Log => (self.min.ln() + u * (self.max / self.min).ln()).exp(),
            LambdaScale::Linear => self.min + u * (self.max - self.min),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn the_log_encoding_maps_the_grid_into_the_unit_interval_in_order() {
        let e = LambdaEncoding::log1p(0.01, 100.0).unwrap();
        let t: Vec<f64> = [0.0, 0.01, 0.1, 1.0, 10.0, 100.0]
            .iter()
            .map(|&l| e.encode(l).unwrap())
            .collect();
        assert_eq!(t[0], 0.0);
        assert!((t[5] - 1.0).abs() < 1e-15);
        assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
        // above λ_min the decades are nearly equal steps of 1/4
        assert!((t[5] - t[4] - 0.25).abs() < 0.01, "{t:?}");
        assert!(e.encode(-1.0).is_err() && e.encode(f64::NAN).is_err());
        assert!(LambdaEncoding::log1p(0.0, 1.0).is_err());
    }

    /// Log scale: the fraction of draws in each decade of [0.01, 100] is 1/4 (1 − p0) (binomial
    /// standard error ≤ 0.005 at 10,000 draws; tolerance 5 of them), and p0 of them are 0.
    #[test]
    fn draws_follow_the_scale_and_the_atom_at_zero() {
        let s = LambdaSampler {
            scale: LambdaScale::Log,
            min: 0.01,
            max: 100.0,
            zero_probability: 0.2,
        };
        s.validate().unwrap();
        let mut rng = StdRng::seed_from_u64(0);
        let n = 10_000;
        let draws: Vec<f64> = (0..n).map(|_| s.sample(&mut rng)).collect();
        let frac =
            |f: &dyn Fn(f64) -> bool| draws.iter().filter(|&&l| f(l)).count() as f64 / n as f64;
        assert!((frac(&|l| l == 0.0) - 0.2).abs() < 0.025);
        assert!((frac(&|l| l > 0.0 && l < 0.1) - 0.2).abs() < 0.025);
        assert!((frac(&|l| l >= 10.0) - 0.2).abs() < 0.025);
        assert!(draws
            .iter()
            .all(|&l| l == 0.0 || (0.01..=100.0).contains(&l)));
        for bad in [
            LambdaSampler { min: 0.0, ..s },
            LambdaSampler { max: 0.01, ..s },
            LambdaSampler {
                zero_probability: 1.5,
                ..s
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(LambdaSampler {
            min: 0.0,
            scale: LambdaScale::Linear,
            ..s
        }
        .validate()
        .is_ok());
    }
}
