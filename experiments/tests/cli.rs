//! The `distillery` binary as a user runs it: every subcommand's help, the files `run`
//! promises, resuming, determinism, errors naming the problem and the fix, `verify`'s exit
//! code, and sharded `reproduce` merged by `report` equal to one machine's run.
//!
//! Every command runs in a fresh temporary directory with HOME and XDG_CACHE_HOME pointing
//! into it and DISTILLERY_DATA unset, so that no data set of this machine is found.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A sandbox directory and the binary run inside it.
struct Sandbox {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    fn with_env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.to_owned()));
        self
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_distillery"));
        cmd.args(args)
            .args(["--threads", "1"])
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env_remove("DISTILLERY_DATA")
            .env_remove("DISTILLERY_TEST_EXPERIMENTS")
            .env_remove("DISTILLERY_TEST_FAILING_CHECK");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs and asserts a non-zero exit; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "{args:?} should have failed:\nstdout:\n{}",
            text(&out.stdout)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{args:?} panicked: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A run file without its wall time: what must be identical between identical runs.
fn without_wall_time(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("wall_time_s").unwrap();
    v
}

/// A report without its "Wall time:" lines: what must be identical between a sharded and an
/// unsharded run.
fn without_wall_time_lines(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("Wall time:"))
        .collect::<Vec<_>>()
        .join("\n")
}

const QUICK_EPOCHS: usize = 8;

#[test]
fn help_works_for_every_subcommand() {
    let sb = Sandbox::new();
    let top = sb.ok(&["--help"]);
    let subcommands = [
        "reproduce",
        "run",
        "report",
        "list",
        "verify",
        "data",
        "bench",
    ];
    for sub in subcommands {
        assert!(top.contains(sub), "top-level help lacks {sub}:\n{top}");
        let help = sb.ok(&[sub, "--help"]);
        assert!(help.contains("Usage: distillery"), "{sub}: {help}");
    }
    for sub in ["check", "fetch"] {
        assert!(sb.ok(&["data", sub, "--help"]).contains("--data-dir"));
    }
    let reproduce = sb.ok(&["reproduce", "--help"]);
    for flag in [
        "--quick",
        "--only",
        "--seeds",
        "--out",
        "--shard",
        "--data-dir",
        "--threads",
    ] {
        assert!(reproduce.contains(flag), "reproduce --help lacks {flag}");
    }
    let run = sb.ok(&["run", "--help"]);
    for flag in [
        "--config",
        "--set",
        "--print-config",
        "--seeds",
        "--out",
        "--quick",
    ] {
        assert!(run.contains(flag), "run --help lacks {flag}");
    }
    assert!(sb.ok(&["list"]).contains("logreg-synthetic"));
}

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

#[test]
fn bad_inputs_are_clear_errors_that_write_nothing() {
    let sb = Sandbox::new();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "logreg-synthetic",
            "--quick",
            "--seeds",
            "1",
            "--out",
            "res",
        ];
        args.extend_from_slice(extra);
        sb.fails(&args)
    };
    let err = run(&["--set", "epochz=3"]);
    assert!(err.contains("unknown config key `epochz`"), "{err}");
    assert!(
        err.contains("learning_rate") && err.contains("--print-config"),
        "{err}"
    );

    let err = run(&["--set", "learning_rate=-1"]);
    assert!(err.contains("`learning_rate`: -1 is out of range"), "{err}");
    assert!(err.contains("allowed: 0 < learning_rate ≤ 100"), "{err}");

    let err = run(&["--set", "epochs=0"]);
    assert!(err.contains("allowed: 1 ≤ epochs ≤ 100000"), "{err}");

    let err = run(&["--set", "epochs=many"]);
    assert!(
        err.contains("`epochs` (from --set)") && err.contains("expects an integer"),
        "{err}"
    );

    fs::write(sb.path("bad.toml"), "batch_size = 32\nbatchsize = 32\n").unwrap();
    let err = run(&["--config", "bad.toml"]);
    assert!(
        err.contains("unknown config key `batchsize`") && err.contains("bad.toml"),
        "{err}"
    );

    fs::write(sb.path("broken.toml"), "epochs = = 3\n").unwrap();
    let err = run(&["--config", "broken.toml"]);
    assert!(
        err.contains("not valid TOML") && err.contains("line 1"),
        "{err}"
    );

    let err = run(&["--config", "missing.toml"]);
    assert!(
        err.contains("cannot read config file missing.toml"),
        "{err}"
    );

    let err = run(&["--data-dir", "no/such/dir"]);
    assert!(
        err.contains("--data-dir") && err.contains("no/such/dir"),
        "{err}"
    );
    assert!(err.contains("does not exist"), "{err}");

    assert!(!sb.path("res").exists(), "a failed command wrote results");

    // An output directory that cannot be created: its parent is a file.
    fs::write(sb.path("file"), "").unwrap();
    let err = sb.fails(&["run", "logreg-synthetic", "--quick", "--out", "file/res"]);
    assert!(err.contains("cannot create the output directory"), "{err}");
    assert!(
        err.contains("file/res") && err.contains("--out DIR"),
        "{err}"
    );

    let err = sb.fails(&["run", "no-such-experiment"]);
    assert!(
        err.contains("no experiment called `no-such-experiment`"),
        "{err}"
    );
    assert!(err.contains("logreg-synthetic"), "{err}");

    let err = sb.fails(&[
        "reproduce",
        "--only",
        "logreg-synthetic,nope",
        "--out",
        "res",
    ]);
    assert!(err.contains("`nope`"), "{err}");
    let err = sb.fails(&["reproduce", "--shard", "3/2"]);
    assert!(err.contains("1 ≤ I ≤ N"), "{err}");
    let err = sb.fails(&["run", "logreg-synthetic", "--seeds", "0"]);
    assert!(err.contains("--seeds"), "{err}");
    assert!(!sb.path("res").exists() && !sb.path("results").exists());
}

#[test]
fn an_experiment_without_its_data_is_skipped_by_reproduce_and_an_error_for_run() {
    let sb = Sandbox::new().with_env("DISTILLERY_TEST_EXPERIMENTS", "1");
    let out = sb.ok(&[
        "reproduce",
        "--quick",
        "--only",
        "test-needs-file",
        "--out",
        "res",
    ]);
    assert!(out.contains("skipped: test-needs-file"), "{out}");
    let index = read(&sb.path("res/REPORT.md"));
    assert!(index.contains("skipped: data missing"), "{index}");
    assert!(index.contains("--set input=PATH"), "{index}");
    let err = sb.fails(&["run", "test-needs-file", "--quick", "--out", "res2"]);
    assert!(
        err.contains("cannot run here") && err.contains("--set input=PATH"),
        "{err}"
    );

    // Once the data exist it runs, and the skip record goes.
    fs::write(sb.path("input.txt"), "a\nb\n").unwrap();
    let input = sb.path("input.txt").display().to_string();
    sb.ok(&[
        "run",
        "test-needs-file",
        "--quick",
        "--out",
        "res",
        "--set",
        &format!("input={input}"),
    ]);
    assert!(!sb.path("res/test-needs-file/skipped.json").exists());
    let run = json(&sb.path("res/test-needs-file/runs/1.json"));
    assert_eq!(run["finals"]["file"]["lines"], 3.0);
    assert!(!read(&sb.path("res/REPORT.md")).contains("skipped: data missing"));
}

#[test]
fn verify_fails_exactly_when_a_check_fails() {
    let sb = Sandbox::new();
    let table = sb.ok(&["verify"]);
    let last = table.lines().last().unwrap();
    let (passed, total) = last
        .strip_suffix(" checks passed")
        .and_then(|s| s.split_once(" of "))
        .unwrap_or_else(|| panic!("summary line: {last}"));
    assert_eq!(passed, total);
    assert!(total.parse::<usize>().unwrap() > 100, "{last}");
    for needle in [
        "op/coverage",
        "op/matmul/2",
        "layer/conv2d_dilation2/1",
        "known/hvp_quadratic",
    ] {
        assert!(table.contains(needle), "verify lacks {needle}");
    }
    assert!(!table.contains("forced-failure"));

    let failing = Sandbox::new().with_env("DISTILLERY_TEST_FAILING_CHECK", "1");
    let out = failing.run(&["verify", "--only", "known,test-only"]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    assert!(
        line("test-only/forced-failure").ends_with("FAIL"),
        "{stdout}"
    );
    assert!(
        line("test-only/finding-does-not-hold").ends_with("does not hold"),
        "{stdout}"
    );
    assert!(stdout.contains("3 of 5 checks passed"), "{stdout}");
    assert!(text(&out.stderr).contains("1 of 5 checks failed: test-only/forced-failure"));
    // A finding that does not hold is reported, but is not a failure.
    let out = failing.run(&["verify", "--only", "known,test-only/finding-does-not-hold"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("not failures): test-only/finding-does-not-hold"),
        "{stdout}"
    );

    let lines = sb.ok(&["verify", "--json", "--only", "known"]);
    let objects: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 3);
    assert!(objects
        .iter()
        .all(|o| o["passed"] == true && o["measured"].is_number()));

    let err = sb.fails(&["verify", "--only", "nonsense"]);
    assert!(err.contains("the groups are: known, op, layer"), "{err}");
}

#[test]
fn sharded_reproduce_merged_by_report_equals_one_machine() {
    let sb = Sandbox::new().with_env("DISTILLERY_TEST_EXPERIMENTS", "1");
    let args = |out: &str, shard: Option<&str>| {
        let mut a = vec!["reproduce", "--quick", "--seeds", "3", "--out"];
        a.push(out);
        if let Some(s) = shard {
            a.extend(["--shard", s]);
        }
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let ok = |a: Vec<String>| sb.ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    ok(args("all", None));
    let s1 = ok(args("s1", Some("1/2")));
    ok(args("s2", Some("2/2")));
    // 2 experiments × 3 seeds = 6 runs, round-robin: shard 1 has runs 0, 2, 4 of the list
    assert!(s1.contains("shard 1/2: 3 of the 6 runs"), "{s1}");
    let seeds = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(sb.path(&format!("{dir}/logreg-synthetic/runs")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(seeds("s1"), ["0.json", "2.json"]);
    assert_eq!(seeds("s2"), ["1.json"]);
    assert!(read(&sb.path("s1/REPORT.md")).contains("incomplete"));

    sb.ok(&["report", "s1", "s2", "--out", "merged"]);
    for file in [
        "REPORT.md",
        "logreg-synthetic/report.md",
        "test-needs-file/report.md",
    ] {
        let (a, b) = (
            read(&sb.path(&format!("all/{file}"))),
            read(&sb.path(&format!("merged/{file}"))),
        );
        assert_eq!(
            without_wall_time_lines(&a),
            without_wall_time_lines(&b),
            "{file}"
        );
        assert!(a.contains("Wall time:"), "{file} has no wall time line");
    }
    for file in [
        "logreg-synthetic/summary.csv",
        "logreg-synthetic/config.toml",
        "logreg-synthetic/plan.json",
    ] {
        assert_eq!(
            read(&sb.path(&format!("all/{file}"))),
            read(&sb.path(&format!("merged/{file}"))),
            "{file}"
        );
    }
    for seed in 0..3 {
        let file = format!("logreg-synthetic/runs/{seed}.json");
        assert_eq!(
            without_wall_time(json(&sb.path(&format!("all/{file}")))),
            without_wall_time(json(&sb.path(&format!("merged/{file}"))))
        );
    }
    let index = read(&sb.path("merged/REPORT.md"));
    assert!(
        index.contains("| done |") && index.contains("3/3"),
        "{index}"
    );
    assert!(
        index.contains("test-needs-file: the test input file"),
        "{index}"
    );

    // Trees of different commands do not merge.
    sb.ok(&[
        "run",
        "logreg-synthetic",
        "--quick",
        "--seeds",
        "2",
        "--out",
        "other",
    ]);
    let err = sb.fails(&["report", "s1", "other", "--out", "bad"]);
    assert!(
        err.contains("disagree on experiment logreg-synthetic"),
        "{err}"
    );
    let err = sb.fails(&["report", "nowhere"]);
    assert!(err.contains("nowhere is not a directory"), "{err}");
}

#[test]
fn data_check_reports_what_is_missing_and_fetch_checks_names() {
    let sb = Sandbox::new();
    let out = sb.ok(&["data", "check"]);
    assert!(out.contains("Fashion-MNIST: not found"), "{out}");
    assert!(out.contains("distillery data fetch"), "{out}");
    let err = sb.fails(&["data", "check", "--data-dir", "nope"]);
    assert!(
        err.contains("--data-dir") && err.contains("does not exist"),
        "{err}"
    );
    let err = sb.fails(&["data", "fetch", "mnist-10k"]);
    assert!(err.contains("fetch `mnist`"), "{err}");
}
