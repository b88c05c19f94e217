//! Selecting checks, running them, and printing the table or JSON lines.

use std::time::Instant;

use anyhow::{bail, Result};

use super::{all, run_guarded, Check, Kind, Outcome};

/// Options of `distillery verify`.
pub struct VerifyOptions {
    /// One JSON object per check instead of a table.
    pub json: bool,
    /// Only checks whose name is one of these or starts with one of these followed by `/`.
    pub only: Option<Vec<String>>,
    /// Print the names and statements, run nothing.
    pub list: bool,
}

fn selected(checks: Vec<Box<dyn Check>>, only: Option<&[String]>) -> Result<Vec<Box<dyn Check>>> {
    let Some(only) = only else {
        return Ok(checks);
    };
    let matches = |name: &str, sel: &str| name == sel || name.starts_with(&format!("{sel}/"));
    for sel in only {
        if !checks.iter().any(|c| matches(&c.name(), sel)) {
            let mut groups: Vec<String> = checks
                .iter()
                .map(|c| c.name().split('/').next().unwrap_or_default().to_owned())
                .collect();
            groups.dedup();
            bail!(
                "--only {sel}: no check is called so or has it as a prefix; the groups are: {} \
                 (`distillery verify --list` prints every name)",
                groups.join(", ")
            );
        }
    }
    Ok(checks
        .into_iter()
        .filter(|c| only.iter().any(|sel| matches(&c.name(), sel)))
        .collect())
}

fn measured(o: &Outcome) -> String {
    if o.measured.is_nan() {
        "—".to_owned()
    } else {
        format!("{:.3e}", o.measured)
    }
}

/// Runs the selected checks and prints them; errors (non-zero exit) if any failed.
pub fn run_checks(opts: &VerifyOptions) -> Result<()> {
    let checks = selected(all(), opts.only.as_deref())?;
    if opts.list {
        for c in &checks {
            println!("{}\t{}", c.name(), c.statement());
        }
        return Ok(());
    }
    let name_w = checks
        .iter()
        .map(|c| c.name().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let stmt_w = checks
        .iter()
        .map(|c| c.statement().chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    if !opts.json {
        println!(
            "{:<name_w$}  {:<stmt_w$}  {:>10}  {:<18}  result",
            "check", "statement", "measured", "tolerance"
        );
    }
    let mut failed = Vec::new();
    let mut not_holding = Vec::new();
    for c in &checks {
        let start = Instant::now();
        let result = run_guarded(c.as_ref());
        let seconds = start.elapsed().as_secs_f64();
        // A finding that does not hold is reported; a check that could not run failed.
        let verdict = match (c.kind(), &result) {
            (_, Err(_)) => "FAIL",
            (Kind::Requirement, Ok(o)) if o.passed => "pass",
            (Kind::Requirement, Ok(_)) => "FAIL",
            (Kind::Finding, Ok(o)) if o.passed => "holds",
            (Kind::Finding, Ok(_)) => "does not hold",
        };
        let o = result.unwrap_or_else(|message| Outcome {
            measured: f64::NAN,
            tolerance: "—".to_owned(),
            passed: false,
            detail: message,
        });
        if opts.json {
            let line = serde_json::json!({
                "check": c.name(),
                "statement": c.statement(),
                "measured": if o.measured.is_finite() { Some(o.measured) } else { None },
                "tolerance": o.tolerance,
                "passed": o.passed,
                "kind": match c.kind() {
                    Kind::Requirement => "requirement",
                    Kind::Finding => "finding",
                },
                "verdict": verdict,
                "detail": o.detail,
                "seconds": seconds,
            });
            println!("{line}");
        } else {
            let statement = c.statement();
            let pad = stmt_w - statement.chars().count();
            println!(
                "{:<name_w$}  {statement}{:pad$}  {:>10}  {:<18}  {}",
                c.name(),
                "",
                measured(&o),
                o.tolerance,
                verdict
            );
            if verdict != "pass" && verdict != "holds" && !o.detail.is_empty() {
                println!("{:<name_w$}  ↳ {}", "", o.detail);
            }
        }
        match verdict {
            "FAIL" => failed.push(c.name()),
            "does not hold" => not_holding.push(c.name()),
            _ => {}
        }
    }
    if !opts.json {
        if !not_holding.is_empty() {
            println!(
                "\nseed statements that do not hold as transcribed (findings, not failures): {}",
                not_holding.join(", ")
            );
        }
        println!(
            "\n{} of {} checks passed",
            checks.len() - failed.len() - not_holding.len(),
            checks.len()
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} checks failed: {}",
            failed.len(),
            checks.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::check;
    use super::*;

    fn names(checks: &[Box<dyn Check>]) -> Vec<String> {
        checks.iter().map(|c| c.name()).collect()
    }

    #[test]
    fn only_selects_by_whole_name_or_path_prefix() {
        let make = || {
            ["op/exp/1", "op/exp/2", "op/expm/1", "layer/linear/1"]
                .map(|n| check(n, "s", || Ok(Outcome::at_most(0.0, 1.0))))
                .into_iter()
                .collect::<Vec<_>>()
        };
        let only = |sel: &[&str]| {
            let sel: Vec<String> = sel.iter().map(|s| s.to_string()).collect();
            selected(make(), Some(&sel)).map(|c| names(&c))
        };
        assert_eq!(only(&["op/exp"]).unwrap(), ["op/exp/1", "op/exp/2"]);
        assert_eq!(
            only(&["op/exp/2", "layer"]).unwrap(),
            ["op/exp/2", "layer/linear/1"]
        );
        let err = only(&["op/ex"]).unwrap_err().to_string();
        assert!(err.contains("the groups are: op, layer"), "{err}");
        assert_eq!(names(&selected(make(), None).unwrap()).len(), 4);
    }
}
