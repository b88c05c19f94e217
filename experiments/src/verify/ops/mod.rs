//! Gradient checks of every op of the engine, primitive or composite, at first and second
//! order, driven by the engine's one table of ops (`autograd::op_table::TABLE`). Where
//! `autograd/tests/op_table.rs` draws many random instances of each entry with proptest, these
//! checks draw one instance per entry from a stream seeded by its name, so that
//! `distillery verify` prints the same numbers on every machine. `op/coverage` fails when a primitive of `autograd::OpKind::ALL`
//! is exercised by no entry.

use std::collections::BTreeSet;

use anyhow::Result;
use autograd::{gradcheck, gradgradcheck, OpKind, Tape, Tolerance};

use super::{check, Check, Outcome};
use autograd::op_table::{Instance, TABLE};

/// The first- and second-order check of every table entry, and the coverage check.
pub fn checks() -> Vec<Box<dyn Check>> {
    let mut out = Vec::new();
    for entry in TABLE {
        let (name, generate) = (entry.name, entry.draw);
        out.push(check(
            format!("op/{name}/1"),
            format!("first derivatives of {name} match finite differences"),
            move || {
                let i = generate(&mut super::values::rng_for(name));
                Ok(Outcome::from_gradcheck(&gradcheck(
                    &*i.f,
                    &i.inputs,
                    Tolerance::default(),
                )?))
            },
        ));
        out.push(check(
            format!("op/{name}/2"),
            format!("second derivatives of {name} match finite differences"),
            move || {
                let i = generate(&mut super::values::rng_for(name));
                Ok(Outcome::from_gradcheck(&gradgradcheck(
                    &*i.f,
                    &i.inputs,
                    Tolerance::default(),
                )?))
            },
        ));
    }
    out.push(check(
        "op/coverage",
        "every primitive (autograd::OpKind::ALL) is exercised by the op checks",
        || {
            let missing = missing_primitives()?;
            let detail = if missing.is_empty() {
                format!("all {} primitives exercised", OpKind::ALL.len())
            } else {
                format!("exercised by no entry: {missing:?}")
            };
            Ok(Outcome::at_most(missing.len() as f64, 0.0).with_detail(detail))
        },
    ));
    out
}

/// The primitives that no entry records on its tape, forward or in the recorded backward of
/// first and second order.
pub fn missing_primitives() -> Result<Vec<OpKind>> {
    let mut seen = BTreeSet::new();
    for entry in TABLE {
        let (name, generate) = (entry.name, entry.draw);
        seen.extend(recorded_ops(&generate(&mut super::values::rng_for(name)))?);
    }
    Ok(OpKind::ALL
        .iter()
        .copied()
        .filter(|k| !seen.contains(k))
        .collect())
}

fn recorded_ops(instance: &Instance) -> Result<Vec<OpKind>> {
    let tape = Tape::new();
    let xs: Vec<_> = instance
        .inputs
        .iter()
        .map(|x| tape.param(x.view()))
        .collect();
    let out = (instance.f)(&tape, &xs)?.sum();
    let grads = tape.grad_graph(out, &xs)?;
    let total = grads.iter().fold(tape.scalar(0.0), |acc, g| acc + g.sum());
    tape.grad_graph(total, &xs)?;
    Ok(tape.recorded_ops())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_primitive_is_covered() {
        assert_eq!(missing_primitives().unwrap(), []);
    }

    #[test]
    fn every_entry_passes_at_both_orders() {
        crate::verify::assert_requirements_pass(&checks());
    }

    /// The checks can fail: `y = tanh x + ½(d² − x²)` with `d = detach(x)` has the forward of
    /// `tanh` (d = x) but an analytic gradient off by `x` (d is a constant to the tape), which
    /// the finite differences (where d moves with x) expose.
    #[test]
    fn a_wrong_gradient_fails() {
        let f = autograd::gradcheck::check_fn(|_, x| {
            let d = x[0].detach();
            Ok(x[0].tanh() + d.square().mul_scalar(0.5) - x[0].square().mul_scalar(0.5))
        });
        let x = [ndarray::arr1(&[0.7, -1.2]).into_dyn()];
        let report = gradcheck(f, &x, Tolerance::default()).unwrap();
        assert!(!Outcome::from_gradcheck(&report).passed, "{report}");
    }
}
