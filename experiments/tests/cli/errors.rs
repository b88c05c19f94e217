//! Inputs from outside that are wrong: clear errors, non-zero exit, nothing written.

use std::fs;

use crate::sandbox::*;

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
