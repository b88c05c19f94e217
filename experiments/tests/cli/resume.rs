//! Runs that last: a run killed mid-way continues from its last saved epoch and ends with the
//! same run file, byte for byte (wall time aside), as an uninterrupted one; teachers are trained
//! once into `OUT/models/` and loaded after; a damaged stored teacher is retrained with a
//! warning; `distillery models` lists them.

use std::fs;

use crate::sandbox::*;

const KILL: &str = "DISTILLERY_TEST_KILL_AFTER_SAVES";
const INTERVAL: &str = "DISTILLERY_STATE_INTERVAL";

/// Runs `args` once uninterrupted into `whole/`, and once killed after `kill_after` state saves
/// then rerun into `resumed/`; returns both run files of seed 0 without wall times, and the
/// stderr of the rerun.
fn interrupted_and_whole(
    sb_args: &[(&'static str, String)],
    args: &[&str],
    kill_after: usize,
) -> (serde_json::Value, serde_json::Value, String) {
    let with = |out: &str| {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--seeds", "1", "--out", out].map(String::from));
        a
    };
    let sandbox = |kill: Option<usize>| {
        let mut sb = Sandbox::new().with_env(INTERVAL, "0");
        for (k, v) in sb_args {
            sb = sb.with_env(k, v);
        }
        if let Some(n) = kill {
            sb = sb.with_env(KILL, &n.to_string());
        }
        sb
    };
    let whole = sandbox(None);
    let a = with("whole");
    whole.ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let whole_run = json(&whole.path(&format!("whole/{}/runs/0.json", args[1])));

    // The same directory for both halves: the state is in resumed/NAME/.partial/0/.
    let killed = sandbox(Some(kill_after));
    let a = with("resumed");
    let args_ref: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = killed.run(&args_ref);
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    // the state of a student line, or of the teacher's training in the model store
    let partial = killed.path(&format!("resumed/{}/.partial/0", args[1]));
    let teacher_partial = killed.path("resumed/models/.partial");
    let non_empty = |p: &std::path::Path| fs::read_dir(p).is_ok_and(|mut d| d.next().is_some());
    assert!(
        non_empty(&partial) || non_empty(&teacher_partial),
        "no state was left by the killed run"
    );
    assert!(!killed
        .path(&format!("resumed/{}/runs/0.json", args[1]))
        .exists());
    // Rerun in the same sandbox directory, without the kill switch.
    let rerun = std::process::Command::new(env!("CARGO_BIN_EXE_distillery"))
        .args(&args_ref)
        .args(["--threads", "1"])
        .current_dir(killed.path(""))
        .env("HOME", killed.path(""))
        .env(INTERVAL, "0")
        .env_remove(KILL)
        .env_remove("DISTILLERY_DATA")
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    assert!(!partial.exists(), "the finished run's state is deleted");
    assert!(
        !non_empty(&teacher_partial),
        "the stored teacher's state is deleted"
    );
    assert!(
        !text(&rerun.stderr).contains("discarding"),
        "{}",
        text(&rerun.stderr)
    );
    let resumed_run = json(&killed.path(&format!("resumed/{}/runs/0.json", args[1])));
    (
        without_wall_time(whole_run),
        without_wall_time(resumed_run),
        text(&rerun.stderr),
    )
}

#[test]
fn a_killed_run_resumes_and_ends_byte_for_byte_as_an_uninterrupted_one() {
    // prob-distill-synthetic --quick: three lines of 20 epochs, a save after each epoch
    // (interval 0): killed after 25 saves, in the middle of the second line.
    let (whole, resumed, _) =
        interrupted_and_whole(&[], &["run", "prob-distill-synthetic", "--quick"], 25);
    assert_eq!(
        serde_json::to_string_pretty(&resumed).unwrap(),
        serde_json::to_string_pretty(&whole).unwrap()
    );
}

#[test]
fn a_state_of_another_config_is_discarded_with_a_message() {
    let sb = Sandbox::new().with_env(INTERVAL, "0").with_env(KILL, "5");
    let args = [
        "run",
        "prob-distill-synthetic",
        "--quick",
        "--seeds",
        "1",
        "--out",
        "res",
    ];
    assert_eq!(sb.run(&args).status.code(), Some(137));
    // the same run with another learning rate: its saved state belongs to the old config
    let mut changed = args.to_vec();
    changed.extend(["--set", "learning_rate=0.02"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_distillery"))
        .args(&changed)
        .current_dir(sb.path(""))
        .env("HOME", sb.path(""))
        .env_remove("DISTILLERY_DATA")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("discarding the saved training state") && err.contains("another config"),
        "{err}"
    );
}

#[test]
fn a_teacher_is_stored_once_shared_by_runs_and_retrained_when_damaged() {
    // privileged-synthetic stores one teacher per run seed (its data are drawn per seed)
    let sb = Sandbox::new();
    let args = [
        "run",
        "privileged-synthetic",
        "--quick",
        "--seeds",
        "1",
        "--out",
        "res",
    ];
    sb.ok(&args);
    let models: Vec<String> = fs::read_dir(sb.path("res/models"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(models.len(), 2, "{models:?}"); // weights and sidecar
    let weights = models.iter().find(|n| n.ends_with(".safetensors")).unwrap();
    let stem = weights.trim_end_matches(".safetensors");
    assert!(stem.starts_with("privileged-logreg-"), "{stem}");
    let report = read(&sb.path("res/privileged-synthetic/report.md"));
    assert!(
        report.contains(&format!("`{stem}`")),
        "the report names the teacher"
    );
    let listing = sb.ok(&["models", "--out", "res"]);
    assert!(
        listing.contains(stem) && listing.contains("privileged-synthetic"),
        "{listing}"
    );

    // A second command with another student setting loads the stored teacher.
    let mut more = args.to_vec();
    more.extend(["--set", "epochs=3"]);
    let out = sb.run(&more);
    assert!(out.status.success());
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let before = fs::read(sb.path(&format!("res/models/{stem}.json"))).unwrap();

    // A damaged weights file is never used: retrained, with one warning naming it.
    let path = sb.path(&format!("res/models/{weights}"));
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    let mut again = args.to_vec();
    again.extend(["--set", "epochs=4"]);
    let out = sb.run(&again);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains(weights.as_str()) && warnings[0].contains("SHA-256"),
        "{err}"
    );
    // retrained identically: the same weights (the sidecar's times aside)
    let after = json(&sb.path(&format!("res/models/{stem}.json")));
    let before: serde_json::Value = serde_json::from_slice(&before).unwrap();
    for key in ["weights_sha256", "identity", "hash"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert_eq!(after["training"]["test"], before["training"]["test"]);
}

#[test]
fn retrain_ignores_the_store_once_per_command() {
    let sb = Sandbox::new();
    let args = [
        "run",
        "privileged-synthetic",
        "--quick",
        "--seeds",
        "1",
        "--out",
        "res",
    ];
    sb.ok(&args);
    let sidecar = fs::read_dir(sb.path("res/models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let trained_in = |p: &std::path::Path| json(p)["wall_time_s"].as_f64().unwrap();
    let first = trained_in(&sidecar);
    let mut retrain = args.to_vec();
    retrain.extend(["--set", "epochs=3", "--retrain"]);
    sb.ok(&retrain);
    // a new training wrote a new sidecar (its wall time is measured anew)
    assert_ne!(trained_in(&sidecar).to_bits(), first.to_bits());
}

#[test]
fn prob_distill_fashion_resumes_inside_the_teacher_training() {
    let Some(root) = nn::data::testing::real_data_root(
        "prob_distill_fashion_resumes_inside_the_teacher_training",
    ) else {
        return;
    };
    let root = root.display().to_string();
    // --quick: the teacher trains 2 epochs; killed after its first save (its epoch 1)
    let (whole, resumed, _) = interrupted_and_whole(
        &[],
        &[
            "run",
            "prob-distill-fashion",
            "--quick",
            "--data-dir",
            &root,
        ],
        1,
    );
    assert_eq!(resumed, whole);
}

/// The finals that are wall times (or derived from them): they differ between any two runs.
fn without_timings(mut run: serde_json::Value) -> serde_json::Value {
    let timing = [
        "seconds",
        "hypergradient_seconds",
        "seconds_per_hypergradient",
        "equal_budget_trials",
    ];
    for line in run["finals"].as_object_mut().unwrap().values_mut() {
        let finals = line.as_object_mut().unwrap();
        finals.retain(|k, _| !timing.contains(&k.as_str()));
    }
    run
}

#[test]
fn meta_distill_resumes_inside_a_meta_loop() {
    // --quick on the sign data, shortened: the teacher (one save in the model store), then
    // lines of 60 iterations, a save after each (interval 0): the hypergradient, unrolled,
    // fixed and alone lines (240 saves), then `prediction n=2` (window 5: iterations 41–45
    // hypergradients, 46–50 predicted). Killed after 287 saves: iteration 46 of that line (as
    // its state.json read after such a kill), the first of a prediction phase, with Adam's
    // moments, λ and the predictor's fit to restore and the batch stream to replay. That the
    // restored state, not a fresh start, gives the numbers is shown by methods'
    // tests/meta_resume.rs (continued with another student's initialisation).
    let args = [
        "run",
        "meta-distill",
        "--quick",
        "--set",
        "steps=60",
        "--set",
        "eval_every=10",
        "--set",
        "prediction_window=5",
        "--set",
        "prediction_periods=[2]",
        "--set",
        "random_search_trials=2",
    ];
    let (whole, resumed, _) = interrupted_and_whole(&[], &args, 287);
    let (whole, resumed) = (without_timings(whole), without_timings(resumed));
    assert!(
        whole["finals"]["synthetic: prediction n=2"]["hypergradients_saved"].as_f64() > Some(0.0)
    );
    assert_eq!(
        serde_json::to_string_pretty(&resumed).unwrap(),
        serde_json::to_string_pretty(&whole).unwrap()
    );
}
