//! `w1-estimators` through the binary, in its `--quick` form (d = 2, 4, 8): the run files, the
//! thesis's figures in the report, the plots, and the inequalities the estimators must obey.

use crate::sandbox::*;

#[test]
fn w1_estimators_quick_reports_the_thesis_figures_and_obeys_the_bounds() {
    let sb = Sandbox::new();
    let out = sb.ok(&["run", "w1-estimators", "--quick", "--out", "res"]);
    assert_eq!(out.matches("done: ").count(), 2, "{out}");
    let dir = sb.path("res/w1-estimators");
    let report = read(&dir.join("report.md"));
    for needle in [
        "Quick protocol",
        "| d = 2, orthonormal critic | gaussians d2 |",
        "15.110",
        "11.260",
        "1.770",
        "1.260",
        "25.670",
        "translate.svg",
        "gaussians_heldout.svg",
        "gaussians_lipschitz_bound.svg",
    ] {
        assert!(
            report.contains(needle),
            "report.md lacks {needle}:\n{report}"
        );
    }
    for seed in 0..2 {
        let run = json(&dir.join(format!("runs/{seed}.json")));
        assert_eq!(run["protocol"], "quick");
        let finals = &run["finals"];
        let value = |line: &str, metric: &str| {
            finals[line][metric]
                .as_f64()
                .unwrap_or_else(|| panic!("no {line} / {metric}"))
        };
        for d in [2, 4, 8] {
            for pair in ["translate", "gaussians"] {
                let metric = format!("{pair}_d{d}");
                let exact = value("exact empirical W1", &metric);
                let ortho = value("orthonormal critic", &metric);
                // 1-Lipschitz on the very points it is evaluated on: ≤ the exact W1, up to the
                // f32 round-off of ~500 critic values of size ~15 (≲ 1e-4)
                assert!(ortho <= exact + 1e-3, "{metric}: {ortho} > {exact}");
                assert!(exact <= value("identity-plan bound W̃1", &metric) + 1e-9);
                let bound = value(
                    "orthonormal critic",
                    &format!("{pair}_lipschitz_bound_d{d}"),
                );
                assert!(
                    (bound - 1.0).abs() < 1e-5,
                    "{metric}: Lipschitz bound {bound}"
                );
            }
            assert_eq!(value("true W1 = ‖a‖", &format!("translate_d{d}")), 15.0);
        }
    }
}
