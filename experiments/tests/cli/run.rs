//! `run`: the promised files, resuming, determinism, `--print-config`.

use std::fs;

use crate::sandbox::*;

#[test]
fn run_writes_every_promised_file_and_a_second_run_resumes() {
    let sb = Sandbox::new();
    let first = sb.ok(&[
        "run",
        "logreg-synthetic",
        "--quick",
        "--seeds",
        "2",
        "--out",
        "res",
    ]);
    let ran = |out: &str| out.lines().filter(|l| l.starts_with("done: ")).count();
    assert_eq!(ran(&first), 2, "{first}");
    let exp = sb.path("res/logreg-synthetic");

    let config: toml::Table = read(&exp.join("config.toml")).parse().unwrap();
    assert_eq!(config["epochs"].as_integer(), Some(QUICK_EPOCHS as i64));
    assert!(read(&exp.join("config.toml")).contains("QUICK"));
    for seed in 0..2 {
        let run = json(&exp.join(format!("runs/{seed}.json")));
        assert_eq!(run["seed"], seed);
        assert_eq!(run["protocol"], "quick");
        let curves = &run["curves"]["without teacher"];
        for metric in ["test_accuracy", "test_cross_entropy", "train_loss"] {
            assert_eq!(
                curves[metric].as_array().unwrap().len(),
                QUICK_EPOCHS,
                "{metric}"
            );
        }
        let acc = run["finals"]["without teacher"]["test_accuracy"]
            .as_f64()
            .unwrap();
        assert!((0.5..=1.0).contains(&acc), "a trained 3-class model: {acc}");
    }
    let csv = read(&exp.join("summary.csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "experiment,protocol,line,metric,seeds,mean,std,min,max"
    );
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[1].starts_with("logreg-synthetic,quick,without teacher,test_accuracy,2,"));
    let report = read(&exp.join("report.md"));
    for needle in [
        "Quick protocol",
        "0.831 ± 0.002",
        "0.225 ± 0.002",
        "test_accuracy.svg",
    ] {
        assert!(
            report.contains(needle),
            "report.md lacks {needle}:\n{report}"
        );
    }
    for metric in ["test_accuracy", "test_cross_entropy", "train_loss"] {
        let svg = read(&exp.join(format!("{metric}.svg")));
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{metric}"
        );
        assert!(
            svg.contains("QUICK PROTOCOL"),
            "{metric}.svg is not labelled quick"
        );
        let png = fs::read(exp.join(format!("{metric}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{metric}.png is not a PNG");
        // IHDR: width and height, big-endian, at bytes 16..24
        assert_eq!(
            &png[16..24],
            &[0, 0, 3, 32, 0, 0, 1, 244],
            "{metric}.png is not 800×500"
        );
    }
    let index = read(&sb.path("res/REPORT.md"));
    assert!(
        index.contains("[logreg-synthetic](logreg-synthetic/report.md)"),
        "{index}"
    );
    assert!(index.contains("Quick protocol"));
    let leftovers: Vec<_> = fs::read_dir(&exp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The same command again: nothing recomputed, the run files untouched.
    let run0 = exp.join("runs/0.json");
    let (bytes, mtime) = (
        fs::read(&run0).unwrap(),
        fs::metadata(&run0).unwrap().modified().unwrap(),
    );
    let second = sb.ok(&[
        "run",
        "logreg-synthetic",
        "--quick",
        "--seeds",
        "2",
        "--out",
        "res",
    ]);
    assert_eq!(
        second.matches("skipped: already done").count(),
        2,
        "{second}"
    );
    assert_eq!(ran(&second), 0, "{second}");
    assert_eq!(fs::read(&run0).unwrap(), bytes);
    assert_eq!(fs::metadata(&run0).unwrap().modified().unwrap(), mtime);

    // A changed config re-runs: the hash differs.
    let third = sb.ok(&[
        "run",
        "logreg-synthetic",
        "--quick",
        "--seeds",
        "1",
        "--out",
        "res",
        "--set",
        "epochs=3",
    ]);
    assert!(third.contains("the config changed"), "{third}");
    let run = json(&run0);
    assert_eq!(
        run["curves"]["without teacher"]["train_loss"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn same_config_and_seed_give_identical_runs() {
    let sb = Sandbox::new();
    for out in ["a", "b"] {
        sb.ok(&[
            "run",
            "logreg-synthetic",
            "--quick",
            "--seeds",
            "2",
            "--out",
            out,
        ]);
    }
    let run = |out: &str, seed: u64| {
        without_wall_time(json(
            &sb.path(&format!("{out}/logreg-synthetic/runs/{seed}.json")),
        ))
    };
    assert_eq!(run("a", 0), run("b", 0));
    assert_eq!(run("a", 1), run("b", 1));
    assert_ne!(
        run("a", 0)["curves"],
        run("a", 1)["curves"],
        "seeds must differ"
    );
}

#[test]
fn print_config_prints_every_key_documented() {
    let sb = Sandbox::new();
    let full = sb.ok(&["run", "logreg-synthetic", "--print-config"]);
    let table: toml::Table = full.parse().unwrap();
    assert_eq!(table["epochs"].as_integer(), Some(100));
    for key in table.keys() {
        let at = full.find(&format!("\n{key} = ")).unwrap();
        let above = full[..at].lines().last().unwrap();
        assert!(
            above.starts_with("# "),
            "`{key}` has no comment above it:\n{full}"
        );
    }
    assert!(
        full.contains("# allowed: 0 < learning_rate ≤ 100"),
        "{full}"
    );
    let quick = sb.ok(&[
        "run",
        "logreg-synthetic",
        "--quick",
        "--print-config",
        "--set",
        "learning_rate=0.5",
    ]);
    let table: toml::Table = quick.parse().unwrap();
    assert_eq!(table["epochs"].as_integer(), Some(QUICK_EPOCHS as i64));
    assert_eq!(table["learning_rate"].as_float(), Some(0.5));
    assert!(quick.contains("Protocol: QUICK"));
    assert!(
        !sb.path("results").exists(),
        "--print-config must not run anything"
    );

    // The printed config is a valid --config file.
    fs::write(sb.path("c.toml"), &quick).unwrap();
    let again = sb.ok(&[
        "run",
        "logreg-synthetic",
        "--quick",
        "--config",
        "c.toml",
        "--print-config",
    ]);
    assert_eq!(again.parse::<toml::Table>().unwrap(), table);
}
