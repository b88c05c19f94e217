//! The Bayesian-distillation experiments (S4, second half) through the binary, in their
//! `--quick` form: the synthetic ones always, Fashion-MNIST from `DISTILLERY_DATA` (loudly
//! SKIPPED without it); and their bad inputs (an unreachable student, an unknown order, an
//! exact Hessian that is not positive definite): clear errors, no NaN in a report.

use serde_json::Value;

use crate::sandbox::*;

const LINES: [&str; 5] = [
    "student, no teacher",
    "Hinton-distilled student",
    "Bayesian, diagonal prior",
    "Bayesian, joint prior",
    "Bayesian, joint prior, teacher init",
];
const ORDER_LINES: [&str; 4] = [
    "order: random",
    "order: obd",
    "order: density-ratio",
    "order: belsley",
];

/// Runs `name --quick` (2 seeds) into `res/` and returns its report and the run files.
fn quick(sb: &Sandbox, name: &str, extra: &[&str]) -> (String, Vec<Value>) {
    let mut args = vec!["run", name, "--quick", "--out", "res"];
    args.extend(extra);
    let out = sb.ok(&args);
    assert_eq!(out.matches("done: ").count(), 2, "{out}");
    let runs = (0..2)
        .map(|seed| json(&sb.path(&format!("res/{name}/runs/{seed}.json"))))
        .collect();
    (read(&sb.path(&format!("res/{name}/report.md"))), runs)
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "lacks {needle}:\n{text}");
    }
}

/// What every run of the three experiments must hold: a curve per student with `points`
/// values (the initial network, then every `eval_every` steps), all finite; the students that
/// start at random start at the same network (paired: same initial means), so their curves
/// share the first point; the metric's zero is the student without teacher; the area of a
/// line is the trapezoid of its gap to that student (recomputed here from the run file).
fn check_run(run: &Value, points: usize, steps: &[f64]) {
    let curve = |line: &str, metric: &str| -> Vec<f64> {
        run["curves"][line][metric]
            .as_array()
            .unwrap_or_else(|| panic!("no curve {line} / {metric}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let none = curve(LINES[0], "test_log_likelihood");
    assert_eq!(none.len(), points);
    for line in LINES {
        let c = curve(line, "test_log_likelihood");
        assert_eq!(c.len(), points, "{line}");
        assert!(c.iter().all(|v| v.is_finite()), "{line}: {c:?}");
        let area = run["finals"][line]["area_difference"].as_f64().unwrap();
        let trapezoid: f64 = steps
            .windows(2)
            .zip(
                c.iter()
                    .zip(&none)
                    .map(|(a, b)| a - b)
                    .collect::<Vec<_>>()
                    .windows(2),
            )
            .map(|(x, g)| (x[1] - x[0]) * 0.5 * (g[0] + g[1]))
            .sum();
        // both sums of the same ~10 f64 terms; round-off far below 1e-9 relative
        assert!(
            (area - trapezoid).abs() <= 1e-9 * trapezoid.abs().max(1.0),
            "{line}: {area} vs {trapezoid}"
        );
    }
    for line in &LINES[1..4] {
        assert_eq!(curve(line, "test_log_likelihood")[0], none[0], "{line}");
    }
    assert_eq!(run["finals"][LINES[0]]["area_difference"], 0.0);
    for line in ORDER_LINES {
        assert_eq!(curve(line, "orders_test_log_likelihood").len(), points);
    }
    // the configured order (random) is the teacher-initialised line itself
    assert_eq!(
        curve("order: random", "orders_test_log_likelihood"),
        curve(LINES[4], "test_log_likelihood")
    );
}

#[test]
fn bayes_distill_neurons_quick_reports_both_readings_next_to_the_published_table() {
    let sb = Sandbox::new();
    let (report, runs) = quick(&sb, "bayes-distill-neurons", &[]);
    assert_contains(
        &report,
        &[
            "Quick protocol",
            "| neuron removal, distil-student (structure reading) | area difference |",
            "| neuron removal, distil-student-all (initialisation reading) | area difference |",
            "| neuron removal, order: Belsley | area difference |",
            "16559",
            "16864",
            "test_log_likelihood.svg",
            "orders_test_log_likelihood.svg",
            "Structure reading",
        ],
    );
    assert!(!report.contains("NaN"), "{report}");
    // 900 objects in batches of 64: 15 steps per epoch, 5 epochs; every 5 steps → 16 points
    let steps: Vec<f64> = (0..=75).step_by(5).map(|s| s as f64).collect();
    for run in &runs {
        check_run(run, 16, &steps);
        assert!(run["models"]["teacher"]
            .as_str()
            .unwrap()
            .starts_with("s4-regression-mlp-10-30-20-1-"));
    }
    // the teacher is trained once and shared: both seeds name the same stored model
    assert_eq!(runs[0]["models"], runs[1]["models"]);
}

#[test]
fn bayes_distill_layers_quick_reports_the_hinton_row_of_the_slides() {
    let sb = Sandbox::new();
    let (report, runs) = quick(&sb, "bayes-distill-layers", &[]);
    assert_contains(
        &report,
        &[
            "| layer removal, Hinton-distilled | area difference |",
            "10244",
            "23310",
            "25506",
        ],
    );
    let steps: Vec<f64> = (0..=75).step_by(5).map(|s| s as f64).collect();
    for run in &runs {
        check_run(run, 16, &steps);
    }
}

#[test]
fn bayes_distill_bad_inputs_are_clear_errors() {
    let sb = Sandbox::new();
    let run = |name: &str, set: &str| {
        sb.fails(&[
            "run", name, "--quick", "--seeds", "1", "--out", "res", "--set", set,
        ])
    };
    // [10, 30, 20, 1] cannot become [10, 60, 1]: no run of hidden layers is 60 wide
    let err = run("bayes-distill-layers", "student_hidden=[60]");
    assert_contains(
        &err,
        &["`student_hidden`", "no removal sequence reaches it"],
    );
    let err = run("bayes-distill-neurons", "student_hidden=[10, 10, 10]");
    assert_contains(&err, &["`student_hidden`", "removals cannot add layers"]);
    let err = run("bayes-distill-neurons", "posterior.order=obdd");
    assert_contains(&err, &["`posterior.order`", "density-ratio"]);
    let err = run("bayes-distill-fashion", "posterior.curvature=hessian");
    assert_contains(&err, &["`posterior.curvature`", "K-FAC"]);
    // the exact Hessian at the trained ReLU teacher is indefinite: the run fails naming it,
    // and the report shows no number for it
    let err = run("bayes-distill-neurons", "posterior.curvature=hessian");
    assert_contains(
        &err,
        &[
            "exact Hessian",
            "not positive definite",
            "use the GGN curvature",
        ],
    );
    let report = read(&sb.path("res/bayes-distill-neurons/report.md"));
    assert!(!report.contains("NaN"), "{report}");
}

#[test]
fn bayes_distill_fashion_quick_on_the_real_data() {
    let Some(root) =
        nn::data::testing::real_data_root("bayes_distill_fashion_quick_on_the_real_data")
    else {
        return;
    };
    let sb = Sandbox::new();
    let root = root.display().to_string();
    let (report, runs) = quick(&sb, "bayes-distill-fashion", &["--data-dir", &root]);
    assert_contains(
        &report,
        &[
            "1165",
            "1145",
            "| Fashion-MNIST, order: OBD | area difference |",
        ],
    );
    // 2,000 images in batches of 128: 16 steps per epoch, 2 epochs; every 4 steps → 9 points
    let steps: Vec<f64> = (0..=32).step_by(4).map(|s| s as f64).collect();
    for run in &runs {
        check_run(run, 9, &steps);
        for line in LINES {
            let acc = run["finals"][line]["test_accuracy"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&acc), "{line}: {acc}");
        }
    }
}
