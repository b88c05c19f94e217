//! `meta-distill` through the binary in its `--quick` form: the sign data always (rows next to
//! the slide table, the curves and plots of the seed's figures), Fashion-MNIST from
//! `DISTILLERY_DATA` (loudly SKIPPED without it) and its error without the data.

use std::fs;

use crate::sandbox::*;

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "lacks {needle}:\n{text}");
    }
}

#[test]
fn meta_distill_quick_reports_the_slide_rows_and_draws_the_seed_figures() {
    let sb = Sandbox::new();
    let out = sb.ok(&["run", "meta-distill", "--quick", "--out", "res"]);
    assert_eq!(out.matches("done: ").count(), 2, "{out}");
    let report = read(&sb.path("res/meta-distill/report.md"));
    assert_contains(
        &report,
        &[
            "Quick protocol",
            "| synthetic, no distillation | test accuracy |",
            "| 0.630 | S3, slide table (accuracy) |",
            "| synthetic, gradient optimisation | test accuracy |",
            "| 0.770 |",
            "| synthetic, with prediction | test accuracy |",
            "| 0.760 |",
            "| synthetic, with prediction: hypergradients saved | hypergradients saved |",
            "| Fashion-MNIST, gradient optimisation | test accuracy | — | 0.880 |",
            "restarts",
        ],
    );
    let dir = sb.path("res/meta-distill");
    for metric in [
        "test_accuracy",
        "test_accuracy_by_period",
        "beta1",
        "beta2",
        "temperature",
    ] {
        let svg = read(&dir.join(format!("{metric}.svg")));
        assert!(
            svg.starts_with("<svg") && svg.contains("QUICK PROTOCOL"),
            "{metric}"
        );
        let png = fs::read(dir.join(format!("{metric}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{metric}");
    }
    // the quick form: 300 steps evaluated every 25, so 13 points per curve
    let run = json(&sb.path("res/meta-distill/runs/0.json"));
    for line in ["synthetic: hypergradient", "synthetic: prediction n=5"] {
        for metric in ["beta1", "beta2", "temperature", "test_accuracy_by_period"] {
            let points = run["curves"][line][metric].as_array().unwrap().len();
            assert_eq!(points, 13, "{line} / {metric}");
        }
    }
    let saved = run["finals"]["synthetic: prediction n=2"]["hypergradients_saved"]
        .as_f64()
        .unwrap();
    assert!(saved > 0.0 && saved < 300.0, "{saved}");
}

#[test]
fn meta_distill_on_fashion_mnist_needs_the_data() {
    let sb = Sandbox::new();
    let err = sb.fails(&[
        "run",
        "meta-distill",
        "--quick",
        "--out",
        "res",
        "--set",
        "data=fashion-mnist",
    ]);
    assert_contains(
        &err,
        &["Fashion-MNIST", "distillery data fetch fashion-mnist"],
    );
}

#[test]
fn meta_distill_quick_on_the_real_fashion_mnist() {
    let Some(root) =
        nn::data::testing::real_data_root("meta_distill_quick_on_the_real_fashion_mnist")
    else {
        return;
    };
    let sb = Sandbox::new();
    let root = root.display().to_string();
    let out = sb.ok(&[
        "run",
        "meta-distill",
        "--quick",
        "--out",
        "res",
        "--data-dir",
        &root,
        "--set",
        "data=fashion-mnist",
    ]);
    assert_eq!(out.matches("done: ").count(), 2, "{out}");
    let report = read(&sb.path("res/meta-distill/report.md"));
    assert_contains(
        &report,
        &[
            "| Fashion-MNIST, gradient optimisation | test accuracy | 0.",
            "| synthetic, gradient optimisation | test accuracy | — |",
            "500 train / 500 validation images",
            "beyond a logistic regression",
        ],
    );
    let teacher = |seed: u64| {
        json(&sb.path(&format!("res/meta-distill/runs/{seed}.json")))["finals"]
            ["Fashion-MNIST: teacher (784-800-50-10 MLP)"]
            .clone()
    };
    assert_eq!(teacher(0), teacher(1), "one teacher shared by the seeds");
    let run = json(&sb.path("res/meta-distill/runs/0.json"));
    for line in [
        "Fashion-MNIST: without teacher",
        "Fashion-MNIST: hypergradient",
    ] {
        let acc = run["finals"][line]["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.6, "{line}: {acc}");
    }
}
