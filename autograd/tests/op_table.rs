//! Property tests over the table of every op (`autograd::op_table`): proptest draws the seeds,
//! every entry is checked at first and second order in `f64`, and
//! `every_primitive_is_covered` fails when an op of `OpKind::ALL` is exercised by no entry.

use std::collections::BTreeSet;

use autograd::op_table::{Backward, Instance, TABLE};
use autograd::{gradcheck, gradgradcheck, OpKind, Result, Tape, Tolerance};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn run_table(
    order: &str,
    cases: u32,
    check: impl Fn(&Instance) -> Result<autograd::GradCheckReport>,
) {
    let mut failures = Vec::new();
    for entry in TABLE {
        let (name, generate) = (entry.name, entry.draw);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let outcome = runner.run(&any::<u64>(), |seed| {
            let instance = generate(&mut StdRng::seed_from_u64(seed));
            let report =
                check(&instance).map_err(|e| TestCaseError::fail(format!("error: {e}")))?;
            prop_assert!(report.passed(), "seed {seed}: {report}");
            Ok(())
        });
        if let Err(e) = outcome {
            failures.push(format!("{name} ({order} order): {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "gradient checks failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn first_order_gradients_of_every_op() {
    run_table("first", 24, |i| {
        gradcheck(&*i.f, &i.inputs, Tolerance::default())
    });
}

#[test]
fn second_order_gradients_of_every_op() {
    run_table("second", 10, |i| {
        gradgradcheck(&*i.f, &i.inputs, Tolerance::default())
    });
}

/// Runs every entry forward, then a recorded first backward (which records the VJP rules'
/// own ops), and collects the kinds of op on the tape.
#[test]
fn every_primitive_is_covered() {
    let mut seen = BTreeSet::new();
    for entry in TABLE {
        for seed in 0..8 {
            let instance = (entry.draw)(&mut StdRng::seed_from_u64(seed));
            let tape = Tape::new();
            let xs: Vec<_> = instance
                .inputs
                .iter()
                .map(|x| tape.param(x.view()))
                .collect();
            let out = (instance.f)(&tape, &xs).unwrap().sum();
            let grads = tape.grad_graph(out, &xs).unwrap();
            let total = grads.iter().fold(tape.scalar(0.0), |acc, g| acc + g.sum());
            let _ = tape.grad_graph(total, &xs).unwrap();
            seen.extend(tape.recorded_ops());
        }
    }
    let missing: Vec<OpKind> = OpKind::ALL
        .iter()
        .copied()
        .filter(|k| !seen.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "ops exercised by no entry of the table: {missing:?}"
    );
}

/// Every entry documents itself for `distillery explain`: a unique name, a formula and a VJP in
/// words, and sites (forward, and the VJP rule of a primitive) whose anchors occur exactly once
/// in their files, so that each resolves to a line.
#[test]
fn every_entry_is_documented() {
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for entry in TABLE {
        let (name, doc) = (entry.name, &entry.doc);
        if !names.insert(name) {
            problems.push(format!("{name}: listed twice"));
        }
        if doc.formula.trim().is_empty() || doc.vjp.trim().is_empty() {
            problems.push(format!("{name}: no formula or no VJP text"));
        }
        let mut sites = vec![("forward", doc.forward)];
        if let Backward::Rule(site) = doc.backward {
            sites.push(("VJP", site));
        }
        for (what, site) in sites {
            if site.line().is_none() {
                problems.push(format!("{name}: {what} site does not resolve: {site}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
