//! The seed's third theorem: `$t(x, y) = \alpha f(x) + \beta g(y)$`, `$\alpha = \sqrt{1 -
//! \beta^{2}}$`, is strictly 1-Lipschitz on `$\mathbb{R}^{2D}$` when `f` and `g` are.

use autograd::{Float, Var};

use crate::{Error, Result};

/// `$(\alpha, \beta)$` with `$\alpha = \sqrt{1 - \beta^{2}}$`: the weights of
/// [`lipschitz_combination`]. Errors unless `$\beta \in[0, 1]$`.
pub fn combination_weights(beta: f64) -> Result<(f64, f64)> {
    if !(0.0..=1.0).contains(&beta) {
        return Err(Error::config(
            "Lipschitz combination β",
            format!("must lie in [0, 1] (then α = √(1 − β²) is real), got {beta}"),
        ));
    }
    Ok(((1.0 - beta * beta).sqrt(), beta))
}

/// `$t(x, y) = \alpha f(x) + \beta g(y)$`, `$\alpha = \sqrt{1 - \beta^{2}}$`, given the values
/// `f(x)` and `g(y)` on the tape (same shape, e.g. `[B, 1]`; `f` = `fx`, `g` = `gy`, `$\beta$` =
/// `beta`).
///
/// Why it is strictly 1-Lipschitz: `$\nabla t = (\alpha \nabla f(x), \beta \nabla g(y))$`, so
/// `$\|\nabla t\|^{2} = \alpha^{2} \|\nabla f\|^{2} + \beta^{2} \|\nabla g\|^{2} = \alpha^{2} +
/// \beta^{2} = 1$` wherever `$\|\nabla f\| = \|\nabla g\| = 1$`; and for any two points, `$|t(x, y) -
/// t(x', y')| \le \alpha \|x - x'\| + \beta \|y - y'\| \le \|(x - x', y - y')\|$` by Cauchy–Schwarz
/// with `$\alpha^{2} + \beta^{2} = 1$`. Errors unless `$\beta \in[0, 1]$`, or if the shapes differ.
pub fn lipschitz_combination<'t, F: Float>(
    fx: Var<'t, F>,
    gy: Var<'t, F>,
    beta: f64,
) -> Result<Var<'t, F>> {
    let (alpha, beta) = combination_weights(beta)?;
    if fx.shape() != gy.shape() {
        return Err(Error::config(
            "Lipschitz combination",
            format!(
                "f(x) and g(y) must have one shape, got {:?} and {:?}",
                fx.shape(),
                gy.shape()
            ),
        ));
    }
    Ok(fx.mul_scalar(alpha).try_add(gy.mul_scalar(beta))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use autograd::Tape;

    #[test]
    fn beta_outside_the_unit_interval_is_an_error() {
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let e = combination_weights(bad).unwrap_err().to_string();
            assert!(e.contains("[0, 1]"), "{e}");
        }
        assert_eq!(combination_weights(0.0).unwrap(), (1.0, 0.0));
        assert_eq!(combination_weights(1.0).unwrap(), (0.0, 1.0));
        // 0.6² + 0.8² = 1: α = 0.8 up to the rounding of 1 − 0.36
        assert!((combination_weights(0.6).unwrap().0 - 0.8).abs() < 1e-15);
    }

    #[test]
    fn shapes_must_agree() {
        let tape = Tape::<f64>::new();
        let a = tape.constant(ndarray::Array2::<f64>::zeros((2, 1)));
        let b = tape.constant(ndarray::Array2::<f64>::zeros((3, 1)));
        assert!(lipschitz_combination(a, b, 0.5).is_err());
    }
}
