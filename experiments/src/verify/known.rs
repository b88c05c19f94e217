//! Known answers of the engine: second derivatives and Hessian-, Jacobian-vector products whose
//! exact values are known in closed form.

use anyhow::Result;
use autograd::Tape;
use ndarray::{arr1, arr2, Array1, Array2};

use super::{check, Check, Outcome};

/// Round-off allowance for these small exact computations in f64 (a few ulps of values of
/// order 10: far below any real error, far above 1e-16 noise).
const EXACT: f64 = 1e-12;

/// A fixed non-symmetric matrix, so that `A + Aᵀ ≠ 2A` and a wrong transposition shows.
fn a() -> Array2<f64> {
    arr2(&[[1.0, 2.0, -0.5], [0.3, -1.0, 4.0], [2.5, 0.0, 1.5]])
}

fn max_abs_diff(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    x.iter()
        .zip(y)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
}

/// `H v` of `f(x) = xᵀ A x` by `Tape::hvp`, against `(A + Aᵀ) v`.
fn hvp_quadratic() -> Result<Outcome> {
    let (x0, v) = (arr1(&[0.5, -1.0, 2.0]), arr1(&[1.0, 0.25, -3.0]));
    let tape = Tape::<f64>::new();
    let x = tape.param(x0.clone());
    let ax = tape.constant(a()).matmul(x.reshape(&[3, 1])?)?;
    let f = x.reshape(&[1, 3])?.matmul(ax)?.sum();
    let hv = tape.hvp(f, &[x], &[v.clone().into_dyn().into_shared()])?;
    let got = hv[0]
        .clone()
        .into_dimensionality::<ndarray::Ix1>()?
        .to_owned();
    let expected = (a() + a().t()).dot(&v);
    Ok(Outcome::at_most(max_abs_diff(&got, &expected), EXACT)
        .with_detail(format!("Hv = {got}, (A + Aᵀ)v = {expected}")))
}

/// `d²/dx² x³` by differentiating the recorded gradient, against `6x`.
fn second_derivative_cube() -> Result<Outcome> {
    let x0 = arr1(&[-1.5, 0.5, 2.0]);
    let tape = Tape::<f64>::new();
    let x = tape.param(x0.clone());
    let f = x.powf(3.0).sum();
    let g = tape.grad_graph(f, &[x])?;
    let h = tape.grad(g[0].sum(), &[x])?;
    let got = h[0]
        .clone()
        .into_dimensionality::<ndarray::Ix1>()?
        .to_owned();
    let expected = x0.mapv(|v| 6.0 * v);
    Ok(Outcome::at_most(max_abs_diff(&got, &expected), EXACT)
        .with_detail(format!("d²x³/dx² = {got}, 6x = {expected}")))
}

/// `J v` of `y = A x` by `Tape::jvp`, against `A v`.
fn jvp_linear() -> Result<Outcome> {
    let v = arr1(&[0.5, 2.0, -1.0]);
    let tape = Tape::<f64>::new();
    let x = tape.param(arr1(&[1.0, -2.0, 0.5]));
    let y = tape
        .constant(a())
        .matmul(x.reshape(&[3, 1])?)?
        .reshape(&[3])?;
    let jv = tape.jvp(y, &[x], &[v.clone().into_dyn().into_shared()])?;
    let got = jv.into_dimensionality::<ndarray::Ix1>()?.to_owned();
    let expected = a().dot(&v);
    Ok(Outcome::at_most(max_abs_diff(&got, &expected), EXACT)
        .with_detail(format!("Jv = {got}, Av = {expected}")))
}

/// The known-answer checks.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        check(
            "known/hvp_quadratic",
            "the Hessian-vector product of xᵀAx is (A + Aᵀ)v",
            hvp_quadratic,
        ),
        check(
            "known/second_derivative_cube",
            "d²/dx² x³ = 6x, through the recorded backward",
            second_derivative_cube,
        ),
        check(
            "known/jvp_linear",
            "the Jacobian-vector product of Ax is Av",
            jvp_linear,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_hold() {
        crate::verify::assert_requirements_pass(&checks());
    }

    /// The comparison is not vacuous: `2Av` (the answer for a symmetric A) is far from
    /// `(A + Aᵀ)v` for this A, so a transposition slip in the HVP would fail.
    #[test]
    fn the_matrix_is_far_from_symmetric() {
        let v = arr1(&[1.0, 0.25, -3.0]);
        let wrong = a().dot(&v) * 2.0;
        let right = (a() + a().t()).dot(&v);
        assert!(max_abs_diff(&wrong, &right) > 1.0);
    }
}
