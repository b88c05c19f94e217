//! `verify` exit codes, `data check|fetch`, and `--help` of every subcommand.

use serde_json::Value;

use crate::sandbox::*;

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
        "explain",
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
fn verify_fails_exactly_when_a_check_fails() {
    let sb = Sandbox::new();
    let table = sb.ok(&["verify"]);
    let last = table.lines().last().unwrap();
    let (passed, total) = last
        .strip_suffix(" checks passed")
        .and_then(|s| s.split_once(" of "))
        .unwrap_or_else(|| panic!("summary line: {last}"));
    // Seed statements that do not hold (findings) are listed apart and count neither as
    // passed nor as failed: the S4 normalising constant, on each domain tried.
    let findings: Vec<&str> = table
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "seed statements that do not hold as transcribed (findings, not failures): ",
            )
        })
        .map_or_else(Vec::new, |l| l.split(", ").collect());
    assert!(
        findings
            .iter()
            .all(|f| f.starts_with("theorem/s4/normalizing/")),
        "{findings:?}"
    );
    let (passed, total): (usize, usize) = (passed.parse().unwrap(), total.parse().unwrap());
    assert_eq!(passed + findings.len(), total, "{last}");
    assert!(total > 100, "{last}");
    for needle in [
        "op/coverage",
        "op/matmul/2",
        "layer/conv2d_dilation2/1",
        "loss/hinton/2",
        "loss/meta_hypergradient/1",
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
