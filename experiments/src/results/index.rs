//! `REPORT.md`: every experiment of a tree with its status and headline result, linked to its
//! report, and the experiments skipped for missing data with the command that fetches them.

use std::fmt::Write as _;

use anyhow::Result;

use super::report::{label, mean_std, num, QUICK_BANNER};
use super::stats::{Gathered, Stat};
use super::{write_text, Tree};
use crate::experiment::{DynExperiment, Protocol};

/// Writes `OUT/REPORT.md` for the experiments of `registry` that the tree has.
pub fn render_index(tree: &Tree, registry: &[&'static dyn DynExperiment]) -> Result<()> {
    let experiments = tree.experiments(registry);
    let gathered = experiments
        .iter()
        .map(|e| Gathered::read(tree, *e))
        .collect::<Result<Vec<_>>>()?;

    let mut md = String::from("# distillery: reproduction report\n\n");
    if gathered.iter().any(|g| g.plan.protocol == Protocol::Quick) {
        let _ = writeln!(md, "> {QUICK_BANNER}\n");
    }
    md.push_str(
        "Each experiment's report sets our mean ± std over seeds next to the seed work's \
         published figure, with plots and notes on our reading of the protocol.\n\n",
    );
    md.push_str("| experiment | reproduces | protocol | seeds done | status | headline |\n");
    md.push_str("|---|---|---|---|---|---|\n");
    let mut skipped = Vec::new();
    let mut total_time = 0.0;
    let mut total_runs = 0;
    for (exp, g) in experiments.iter().zip(&gathered) {
        let info = exp.info();
        let planned = g.runs.len() + g.missing_seeds.len() + g.stale_seeds.len();
        let status = match (&g.skipped, g.runs.len()) {
            (Some(_), 0) => "skipped: data missing".to_owned(),
            (_, n) if n == planned => "done".to_owned(),
            (_, n) => format!("incomplete ({} to run)", planned - n),
        };
        if let (Some(s), 0) = (&g.skipped, g.runs.len()) {
            skipped.push((info.name, s.clone()));
        }
        let headline = exp
            .comparison()
            .first()
            .and_then(|row| {
                let ours = Stat::of(&g.finals(row.line, row.metric))?;
                let published = row
                    .published
                    .map(|p| match p.std {
                        Some(std) => format!(" (published {} ± {})", num(p.mean), num(std)),
                        None => format!(" (published {})", num(p.mean)),
                    })
                    .unwrap_or_default();
                Some(format!(
                    "{} {}: {}{published}",
                    row.label,
                    label(row.metric),
                    mean_std(&ours)
                ))
            })
            .unwrap_or_else(|| "—".to_owned());
        let _ = writeln!(
            md,
            "| [{name}]({name}/report.md) | {} | {} | {}/{planned} | {status} | {headline} |",
            info.reproduces,
            g.plan.protocol,
            g.runs.len(),
            name = info.name
        );
        total_time += g.wall_time();
        total_runs += g.runs.len();
    }
    if !skipped.is_empty() {
        md.push_str("\n## Skipped: data missing\n\n");
        for (name, s) in skipped {
            for m in &s.missing {
                let _ = writeln!(
                    md,
                    "- {name}: {} is missing; get it with `{}`",
                    m.what, m.fix
                );
            }
        }
    }
    let _ = writeln!(
        md,
        "\nWall time: {total_time:.2} s over {total_runs} runs (the sum of the runs' times)."
    );
    write_text(&tree.root().join("REPORT.md"), &md)
}
