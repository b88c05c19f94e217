//! In-process tests of `meta-distill`: the quick form on the sign data (every report row
//! filled, the accounting of hypergradient and predicted steps, λ in range along every curve,
//! reproducibility), and bad config values named by their key.

use nn::data::discover_in;
use nn::store::ModelStore;

use super::meta_distill::{MetaDistill, MetaDistillConfig};
use super::meta_distill_lines::{Lines, FASHION_LINES, SIGN_LINES};
use crate::experiment::{resolve, Experiment, Progress, Protocol, RunContext, RunRecord};

fn run(config: &MetaDistillConfig, seed: u64) -> RunRecord {
    let nothing = discover_in(Vec::new());
    let models = tempfile::tempdir().unwrap();
    let store = ModelStore::new(models.path());
    MetaDistill
        .run(
            config,
            seed,
            &RunContext::new(&nothing, &store, None),
            &mut Progress::hidden(),
        )
        .unwrap()
}

fn fin(record: &RunRecord, line: &str, metric: &str) -> f64 {
    record
        .final_value(line, metric)
        .unwrap_or_else(|| panic!("no final {line} / {metric}"))
}

#[test]
fn the_quick_form_fills_every_synthetic_row_and_accounts_for_every_step() {
    let c = MetaDistill.quick_config();
    let record = run(&c, 0);
    // every synthetic row of the report reads a recorded final; no Fashion-MNIST row does
    for row in MetaDistill.comparison() {
        let value = record.final_value(row.line, row.metric);
        if row.label.starts_with("synthetic") {
            assert!(
                value.is_some(),
                "{}: {} / {}",
                row.label,
                row.line,
                row.metric
            );
        } else {
            assert!(value.is_none(), "{}", row.label);
        }
    }
    // the rows' prediction line is the one the run names for n = 2
    assert_eq!(SIGN_LINES.predicted(2), "synthetic: prediction n=2");
    assert_eq!(FASHION_LINES.predicted(2), "Fashion-MNIST: prediction n=2");
    assert_eq!(c.prediction_periods[0], 2);

    let steps = c.steps as f64;
    let lines: &Lines = &SIGN_LINES;
    assert_eq!(fin(&record, lines.hypergradient, "hypergradients"), steps);
    assert_eq!(
        fin(&record, lines.hypergradient, "hypergradients_saved"),
        0.0
    );
    assert_eq!(fin(&record, lines.unrolled, "hypergradients"), steps);
    assert_eq!(
        fin(&record, lines.unrolled, "unroll_steps"),
        c.unroll_steps as f64
    );
    assert!(c.unroll_steps > 1);
    for line in [lines.fixed, lines.alone, lines.random] {
        assert_eq!(fin(&record, line, "hypergradients"), 0.0, "{line}");
    }
    for &n in &c.prediction_periods {
        let line = lines.predicted(n);
        let computed = fin(&record, &line, "hypergradients");
        let saved = fin(&record, &line, "hypergradients_saved");
        assert_eq!(computed + saved, steps, "{line}");
        // at least the first window is computed, and something is predicted
        assert!(
            computed >= c.prediction_window as f64 && saved > 0.0,
            "{line}"
        );
    }
    assert_eq!(
        fin(&record, lines.random, "trials"),
        c.random_search_trials as f64
    );

    // one point per evaluation, from step 0; λ in range at every point
    let points = c.steps / c.eval_every + 1;
    for (line, metrics) in &record.curves {
        for (metric, values) in metrics {
            assert_eq!(values.len(), points, "{line} / {metric}");
            let ok = |v: f64| match metric.as_str() {
                "beta1" | "beta2" => v > 0.0 && v < 1.0,
                "temperature" => v > c.t_min && v < c.t_max,
                "test_accuracy" | "test_accuracy_by_period" => (0.0..=1.0).contains(&v),
                _ => v.is_finite(),
            };
            assert!(
                values.iter().all(|&v| ok(v)),
                "{line} / {metric}: {values:?}"
            );
        }
    }
    // the gains are paired differences of the same run's finals
    let acc = |line: &str| fin(&record, line, "test_accuracy");
    let p2 = lines.predicted(2);
    assert_eq!(
        fin(&record, lines.hypergradient, "accuracy_gain_over_fixed"),
        acc(lines.hypergradient) - acc(lines.fixed)
    );
    assert_eq!(
        fin(&record, &p2, "accuracy_gain_over_random_search"),
        acc(&p2) - acc(lines.random)
    );
    assert_eq!(
        fin(&record, &p2, "accuracy_change_from_prediction"),
        acc(&p2) - acc(lines.hypergradient)
    );
    // the student alone has β2 = σ(−40) and never moves
    assert!(fin(&record, lines.alone, "beta2") < 1e-17);
    // the quick form learns something: the sign data's majority class is about 1/2
    for line in [
        lines.hypergradient,
        lines.unrolled,
        lines.fixed,
        lines.alone,
    ] {
        let acc = fin(&record, line, "test_accuracy");
        assert!(acc > 0.6, "{line}: {acc}");
    }
}

#[test]
fn the_same_seed_gives_the_same_curves_and_another_seed_other_ones() {
    let c = MetaDistillConfig {
        steps: 60,
        eval_every: 20,
        prediction_window: 5,
        prediction_periods: vec![3],
        random_search_trials: 1,
        ..MetaDistill.quick_config()
    };
    let a = run(&c, 3);
    let b = run(&c, 3);
    assert_eq!(a.curves, b.curves);
    assert_ne!(a.curves, run(&c, 4).curves);
}

#[test]
fn bad_values_are_errors_naming_their_key() {
    let cases = [
        ("t_min=0", "`t_min`"),
        ("t_min=-1", "`t_min`"),
        ("t_max=0.05", "`t_max`"),
        ("unroll_steps=0", "`unroll_steps`"),
        ("unroll_steps=1", "`unroll_steps`"),
        ("prediction_window=1", "`prediction_window`"),
        ("prediction_periods=[2, 1]", "`prediction_periods`"),
        ("prediction_periods=[]", "`prediction_periods`"),
        (
            "synthetic.validation_samples=0",
            "`synthetic.validation_samples`",
        ),
        (
            "fashion.validation_samples=0",
            "`fashion.validation_samples`",
        ),
        ("data=\"mnist\"", "`data`"),
    ];
    for (set, key) in cases {
        let err = resolve(&MetaDistill, Protocol::Quick, None, &[set.to_owned()]).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains(key), "{set}: {err}");
    }
    let err = resolve(
        &MetaDistill,
        Protocol::Full,
        None,
        &[
            "data=fashion-mnist".to_owned(),
            "fashion.student_samples=59000".to_owned(),
            "fashion.validation_samples=2000".to_owned(),
        ],
    )
    .unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("`fashion.validation_samples`") && err.contains("60,000"),
        "{err}"
    );
    resolve(
        &MetaDistill,
        Protocol::Full,
        None,
        &["data=fashion-mnist".to_owned()],
    )
    .unwrap();
}
