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

/// `distillery list | head`: output into a pipe nobody reads ends the process quietly, without
/// the panic (and backtrace) of `println!` failing. The pipe's read end is closed before the
/// process starts, so its first write fails whatever the timing.
#[cfg(target_os = "linux")]
#[test]
fn output_into_a_closed_pipe_ends_the_process_without_a_panic() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    extern "C" {
        fn pipe(fds: *mut i32) -> i32;
    }
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two new descriptors into the array it is given.
    assert_eq!(unsafe { pipe(fds.as_mut_ptr()) }, 0, "pipe(2) failed");
    // SAFETY: both descriptors were just created and are owned here alone.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_distillery"))
        .arg("list")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(13),
        "ended by SIGPIPE at its first write ({:?}; stderr: {stderr})",
        out.status
    );
}
