//! `reproduce`: skipping for missing data, sharding, and `report` merging the shards.

use std::fs;

use crate::sandbox::*;

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
fn sharded_reproduce_merged_by_report_equals_one_machine() {
    let sb = Sandbox::new().with_env("DISTILLERY_TEST_EXPERIMENTS", "1");
    let args = |out: &str, shard: Option<&str>| {
        // The two experiments the assertions below count on (the registry has more).
        let only = "logreg-synthetic,test-needs-file";
        let mut a = vec![
            "reproduce",
            "--quick",
            "--only",
            only,
            "--seeds",
            "3",
            "--out",
        ];
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
