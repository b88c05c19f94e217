//! The S4 experiments through the binary, in their `--quick` form: the synthetic ones always,
//! Twitter on a CSV written here (and skipped without one), Fashion-MNIST from
//! `DISTILLERY_DATA` (loudly SKIPPED without it); and the S4 checks of `verify`.

use std::fs;
use std::io::Write as _;

use crate::sandbox::*;

/// The report of an experiment run with `--quick` into `res/`, after checking its run files.
fn quick_run(sb: &Sandbox, name: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", name, "--quick", "--out", "res"];
    args.extend(extra);
    let out = sb.ok(&args);
    assert_eq!(out.matches("done: ").count(), 2, "{out}");
    for seed in 0..2 {
        let run = json(&sb.path(&format!("res/{name}/runs/{seed}.json")));
        assert_eq!(run["protocol"], "quick");
    }
    read(&sb.path(&format!("res/{name}/report.md")))
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "lacks {needle}:\n{text}");
    }
}

#[test]
fn prob_distill_synthetic_quick_reports_both_rows_next_to_the_published_ones() {
    let sb = Sandbox::new();
    let report = quick_run(&sb, "prob-distill-synthetic", &[]);
    assert_contains(
        &report,
        &[
            "Quick protocol",
            "| synthetic, without teacher | test cross entropy |",
            "0.225 ± 0.002",
            "0.452 ± 0.001",
            "0.828 ± 0.001",
            "| synthetic, with teacher (authors' code) | test accuracy |",
            "| true class probabilities | test cross entropy |",
            "test_accuracy.svg",
            "test_cross_entropy.svg",
            "λ' = 0.5000",
        ],
    );
    let run = json(&sb.path("res/prob-distill-synthetic/runs/0.json"));
    let epochs = run["curves"]["with teacher"]["test_cross_entropy"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(epochs, 20);
    for line in [
        "without teacher",
        "with teacher",
        "with teacher (authors' code)",
    ] {
        let acc = run["finals"][line]["test_accuracy"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&acc), "{line}: {acc}");
    }
}

#[test]
fn privileged_synthetic_quick_draws_heat_maps() {
    let sb = Sandbox::new();
    let report = quick_run(&sb, "privileged-synthetic", &[]);
    assert_contains(
        &report,
        &[
            "## Heat maps",
            "### ν = 2: test accuracy gain over the student alone",
            "| λ | T = 1 | T = 5 |",
            "| λ = 0 | 0.000 ± 0.000 | 0.000 ± 0.000 |",
            "accuracy_gain_noise_1.svg",
        ],
    );
    let dir = sb.path("res/privileged-synthetic");
    for i in 0..2 {
        for metric in ["accuracy_gain", "cross_entropy_gain"] {
            let svg = read(&dir.join(format!("{metric}_noise_{i}.svg")));
            assert!(svg.starts_with("<svg") && svg.contains("QUICK PROTOCOL"));
            let png = fs::read(dir.join(format!("{metric}_noise_{i}.png"))).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        }
    }
    assert!(!dir.join("accuracy_gain_noise_2.svg").exists());
}

/// A Sentiment140-like CSV: 150 negative rows then 150 positive ones (the real file is sorted
/// by label), words drawn so that the label is learnable but not trivial.
fn write_tweets(path: &std::path::Path) {
    let pos = ["love", "great", "happy", "awesome", "thanks"];
    let neg = ["hate", "sad", "awful", "tired", "worst"];
    let filler = ["the", "day", "work", "is", "so", "my", "today"];
    let mut f = fs::File::create(path).unwrap();
    for i in 0..300usize {
        let (polarity, words) = if i < 150 { (0, &neg) } else { (4, &pos) };
        // a fixed pseudo-random choice of words per row (no RNG needed)
        let pick = |k: usize, list: &[&'static str]| list[(i * 7 + k * 13) % list.len()];
        let mood = if i % 5 == 0 {
            pick(1, &pos)
        } else {
            pick(1, words)
        };
        let text = format!(
            "{} {} {} &amp; {}, @user{i}",
            pick(2, &filler),
            mood,
            pick(3, &filler),
            pick(4, words)
        );
        writeln!(
            f,
            "\"{polarity}\",\"{i}\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u{i}\",\"{text}\""
        )
        .unwrap();
    }
}

#[test]
fn prob_distill_twitter_runs_on_a_supplied_csv_and_is_skipped_without_one() {
    let sb = Sandbox::new();
    let out = sb.ok(&[
        "reproduce",
        "--quick",
        "--only",
        "prob-distill-twitter",
        "--out",
        "skip",
    ]);
    assert_contains(
        &out,
        &[
            "skipped: prob-distill-twitter",
            "training.1600000.processed.noemoticon.csv",
            "--set csv=PATH",
        ],
    );
    assert!(read(&sb.path("skip/REPORT.md")).contains("skipped: data missing"));

    let csv = sb.path("tweets.csv");
    write_tweets(&csv);
    let set = format!("csv={}", csv.display());
    // More steps than --quick takes on the real file's 4,000-tweet sample: 225 tweets make
    // 4 batches per epoch.
    let report = quick_run(
        &sb,
        "prob-distill-twitter",
        &[
            "--set",
            &set,
            "--set",
            "student.epochs=40",
            "--set",
            "student.learning_rate=0.01",
        ],
    );
    assert_contains(
        &report,
        &[
            "0.747 ± 0.005",
            "0.764 ± 0.004",
            "Sentiment140 CSV: 300 of its 300 labelled tweets",
            "225 train / 75 test",
            "BERT",
        ],
    );
    let run = json(&sb.path("res/prob-distill-twitter/runs/1.json"));
    for line in ["without teacher", "with teacher"] {
        let acc = run["finals"][line]["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.6, "{line} learned nothing: {acc}");
    }
}

#[test]
fn prob_distill_fashion_quick_on_the_real_data() {
    let Some(root) =
        nn::data::testing::real_data_root("prob_distill_fashion_quick_on_the_real_data")
    else {
        return;
    };
    let sb = Sandbox::new();
    let root = root.display().to_string();
    let report = quick_run(&sb, "prob-distill-fashion", &["--data-dir", &root]);
    assert_contains(
        &report,
        &[
            "0.461 ± 0.005",
            "0.842 ± 0.002",
            "Fashion-MNIST (60,000 train + 10,000 test images): 5000 train / 1000 test",
            "| teacher (MLP) | test accuracy |",
            "λ' = 0.0323",
        ],
    );
    let run = json(&sb.path("res/prob-distill-fashion/runs/0.json"));
    for line in [
        "without teacher",
        "with teacher",
        "with teacher, without log C",
        "teacher (784-800-50-10 MLP)",
    ] {
        let acc = run["finals"][line]["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.6, "{line}: {acc}");
    }
    let teacher = |seed: u64| {
        json(&sb.path(&format!("res/prob-distill-fashion/runs/{seed}.json")))["finals"]
            ["teacher (784-800-50-10 MLP)"]
            .clone()
    };
    assert_eq!(teacher(0), teacher(1), "one teacher shared by the seeds");
}

#[test]
fn prob_distill_fashion_sweep_quick_draws_both_teachers_heat_maps() {
    let Some(root) = nn::data::testing::real_data_root(
        "prob_distill_fashion_sweep_quick_draws_both_teachers_heat_maps",
    ) else {
        return;
    };
    let sb = Sandbox::new();
    let root = root.display().to_string();
    let report = quick_run(&sb, "prob-distill-fashion-sweep", &["--data-dir", &root]);
    assert_contains(
        &report,
        &[
            "| CNN teacher, λ = 0.25, T0 = 2, log C | accuracy gain |",
            "| 0.008 | S4 table: with − without teacher |",
            "### CNN teacher, without log C: test accuracy gain over the student without teacher",
            "| λ | T0 = 1 | T0 = 2 |",
            "| λ=0.75 (λ'=0.231) |",
            "fashion-cnn-authors-",
        ],
    );
    let dir = sb.path("res/prob-distill-fashion-sweep");
    for teacher in ["cnn", "mlp"] {
        for term in ["log_c", "no_log_c"] {
            let svg = read(&dir.join(format!("cross_entropy_gain_{teacher}_{term}.svg")));
            assert!(svg.starts_with("<svg") && svg.contains("QUICK PROTOCOL"));
        }
    }
    let run = json(&sb.path("res/prob-distill-fashion-sweep/runs/0.json"));
    let cnn = run["finals"]["teacher (authors' CNN, 29,176 parameters)"]["test_accuracy"]
        .as_f64()
        .unwrap();
    assert!(cnn > 0.5, "the CNN teacher learned nothing: {cnn}");
    // gains are differences from the paired student without teacher
    let line = &run["finals"]["mlp: λ=0.75, T0=1, no log C"];
    let base = &run["finals"]["without teacher"];
    let gain = line["test_accuracy"].as_f64().unwrap() - base["test_accuracy"].as_f64().unwrap();
    assert!((line["accuracy_gain"].as_f64().unwrap() - gain).abs() < 1e-12);
}

#[test]
fn an_unknown_fashion_teacher_is_a_config_error_naming_the_key() {
    let sb = Sandbox::new();
    let err = sb.fails(&[
        "run",
        "prob-distill-fashion",
        "--quick",
        "--set",
        "teacher_model=resnet",
    ]);
    assert!(
        err.contains("teacher_model") && err.contains("\"cnn\""),
        "{err}"
    );
}

#[test]
fn verify_lists_and_runs_the_s4_checks() {
    let sb = Sandbox::new();
    let list = sb.ok(&["verify", "--list"]);
    for name in [
        "theorem/s4/regression",
        "theorem/s4/normalizing/orthant",
        "theorem/s4/normalizing/simplex",
        "theorem/s4/normalizing/unit-cube",
        "theorem/s4/normalizing/one-hot-vertices",
        "theorem/s4/normalizing/closed-forms",
        "limit/temperature/low",
        "limit/temperature/high",
        "limit/temperature/hinton-gradient",
    ] {
        assert!(list.contains(&format!("{name}\t")), "--list lacks {name}");
    }
    let table = sb.ok(&["verify", "--only", "theorem/s4,limit/temperature"]);
    let verdict = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{table}"))
            .to_owned()
    };
    for name in [
        "theorem/s4/regression",
        "theorem/s4/normalizing/closed-forms",
        "limit/temperature/low",
        "limit/temperature/high",
        "limit/temperature/hinton-gradient",
    ] {
        assert!(verdict(name).ends_with("pass"), "{}", verdict(name));
    }
    for domain in ["orthant", "simplex", "unit-cube", "one-hot-vertices"] {
        let line = verdict(&format!("theorem/s4/normalizing/{domain}"));
        assert!(line.ends_with("does not hold"), "{line}");
    }
    assert!(table.contains("5 of 9 checks passed"), "{table}");
    assert!(table.contains("the density there needs C = Π_k log(1/g_k)"));
}
