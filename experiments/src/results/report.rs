//! One experiment's rendered outputs: `summary.csv`, the plots and `report.md`.

use std::fmt::Write as _;

use anyhow::Result;

use super::heatmap::write_heatmaps;
use super::plot::write_plot;
use super::stats::{Gathered, Stat};
use super::{write_text, Tree};
use crate::experiment::{DynExperiment, Protocol};

/// The banner of every quick-protocol output.
pub const QUICK_BANNER: &str = "**Quick protocol** (`--quick`): a reduced protocol for smoke \
                                tests; these numbers are not comparable with the published ones.";

/// Writes `summary.csv`, the plots and `report.md` of `exp` from the runs in `tree`.
pub fn render_experiment(tree: &Tree, exp: &dyn DynExperiment) -> Result<()> {
    let name = exp.info().name;
    let g = Gathered::read(tree, exp)?;
    write_text(&tree.file(name, "summary.csv"), &summary_csv(name, &g))?;
    let config = read_config(tree, exp)?;
    let mut plots = Vec::new();
    for spec in exp.plots() {
        let curves = g.curves(spec.metric);
        if curves.is_empty() {
            continue;
        }
        let title = format!(
            "{name}: {} (mean ± std over {} seed{})",
            label(spec.metric),
            g.runs.len(),
            if g.runs.len() == 1 { "" } else { "s" }
        );
        let x_values = exp.x_values(&config, spec.metric)?;
        write_plot(
            &tree.dir(name),
            &spec,
            &title,
            &curves,
            x_values.as_deref(),
            g.plan.protocol == Protocol::Quick,
        )?;
        plots.push(spec.metric);
    }
    let specs = exp.heatmaps(&config)?;
    let heatmaps = write_heatmaps(
        &tree.dir(name),
        &specs,
        &g,
        g.plan.protocol == Protocol::Quick,
    )?;
    let text = report_md(exp, &g, &plots, &heatmaps, tree)?;
    write_text(&tree.file(name, "report.md"), &text)
}

/// A metric key as words: `test_accuracy` → "test accuracy".
pub fn label(metric: &str) -> String {
    metric.replace('_', " ")
}

/// A number for a report: 3 decimals, or fewer digits for large and an exponent for tiny ones.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && a < 1e-3 {
        format!("{v:.2e}")
    } else if a >= 1e4 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// `mean ± std` (the std only with more than one value).
pub fn mean_std(s: &Stat) -> String {
    if s.n > 1 {
        format!("{} ± {}", num(s.mean), num(s.std))
    } else {
        num(s.mean)
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn summary_csv(name: &str, g: &Gathered) -> String {
    let mut out = String::from("experiment,protocol,line,metric,seeds,mean,std,min,max\n");
    for (line, metric) in g.final_keys() {
        if let Some(s) = Stat::of(&g.finals(&line, &metric)) {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                csv_field(name),
                g.plan.protocol,
                csv_field(&line),
                csv_field(&metric),
                s.n,
                s.mean,
                s.std,
                s.min,
                s.max
            );
        }
    }
    out
}

/// "0, 1, 2".
pub fn seed_list(seeds: &[u64]) -> String {
    seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn report_md(
    exp: &dyn DynExperiment,
    g: &Gathered,
    plots: &[&str],
    heatmaps: &str,
    tree: &Tree,
) -> Result<String> {
    let info = exp.info();
    let mut md = format!("# {}\n\n", info.name);
    if g.plan.protocol == Protocol::Quick {
        let _ = writeln!(md, "> {QUICK_BANNER}\n");
    }
    let _ = writeln!(md, "{}\n", info.description);
    let _ = writeln!(md, "Reproduces: {}.\n", info.reproduces);

    let finished = g.runs.len();
    let planned = finished + g.missing_seeds.len() + g.stale_seeds.len();
    let mut status = format!("{finished} of {planned} finished");
    if !g.missing_seeds.is_empty() || !g.stale_seeds.is_empty() {
        let mut todo = g.missing_seeds.clone();
        todo.extend(&g.stale_seeds);
        todo.sort_unstable();
        let _ = write!(status, "; not yet run: {}", seed_list(&todo));
    }
    let seeds: Vec<u64> = g.runs.iter().map(|r| r.seed).collect();
    md.push_str("| | |\n|---|---|\n");
    let _ = writeln!(md, "| protocol | {} |", g.plan.protocol);
    let _ = writeln!(md, "| seeds | {} ({status}) |", seed_list(&seeds));
    let data = g.data_used();
    if !data.is_empty() {
        let _ = writeln!(md, "| data | {} |", data.join("; "));
    }
    let models = g.models_used();
    if !models.is_empty() {
        let _ = writeln!(
            md,
            "| stored models | {} (`OUT/models/`) |",
            models.join("; ")
        );
    }
    let _ = writeln!(
        md,
        "| config | [config.toml](config.toml), hash `{}` |\n",
        g.plan.config_hash
    );

    if let Some(skipped) = g.skipped.as_ref().filter(|_| g.runs.is_empty()) {
        md.push_str("## Skipped: data missing\n\n");
        for m in &skipped.missing {
            let _ = writeln!(md, "- {}: `{}`", m.what, m.fix);
        }
        md.push('\n');
    }

    md.push_str("## Results\n\n");
    let _ = writeln!(
        md,
        "| row | metric | ours (mean ± std over {finished} seed{}) | published | source | note |",
        if finished == 1 { "" } else { "s" }
    );
    md.push_str("|---|---|---|---|---|---|\n");
    for row in exp.comparison() {
        let ours = Stat::of(&g.finals(row.line, row.metric))
            .map_or_else(|| "—".to_owned(), |s| mean_std(&s));
        let (published, source) = match row.published {
            Some(p) => (
                match p.std {
                    Some(std) => format!("{} ± {}", num(p.mean), num(std)),
                    None => num(p.mean),
                },
                p.source,
            ),
            None => ("—".to_owned(), "—"),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {ours} | {published} | {source} | {} |",
            row.label,
            label(row.metric),
            row.note
        );
    }
    md.push_str("\nEvery final metric, with min and max: [summary.csv](summary.csv).\n\n");

    if !plots.is_empty() {
        md.push_str("## Plots\n\n");
        for metric in plots {
            let _ = writeln!(md, "![{}]({metric}.svg)\n", label(metric));
        }
        let pngs: Vec<String> = plots
            .iter()
            .map(|m| format!("[{m}.png]({m}.png)"))
            .collect();
        let _ = writeln!(md, "As PNG: {}.\n", pngs.join(", "));
    }
    md.push_str(heatmaps);

    let figures: Vec<_> = exp
        .figures(&read_config(tree, exp)?)?
        .into_iter()
        .filter(|f| tree.figures_dir(info.name).join(&f.file).is_file())
        .collect();
    if !figures.is_empty() {
        md.push_str("## Figures\n\n");
        for f in figures {
            let _ = writeln!(md, "![{}](figures/{})\n\n{}\n", f.file, f.file, f.caption);
        }
    }

    let notes = exp.notes(&read_config(tree, exp)?)?;
    if !notes.is_empty() {
        md.push_str("## Notes\n\n");
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "Wall time: {:.2} s in all, {:.2} s per run (mean over {finished} runs).",
        g.wall_time(),
        g.wall_time() / finished.max(1) as f64
    );
    Ok(md)
}

/// The config of `exp` as saved in the tree (its keys checked against the experiment's).
fn read_config(tree: &Tree, exp: &dyn DynExperiment) -> Result<toml::Table> {
    let path = tree.file(exp.info().name, "config.toml");
    let resolved = crate::experiment::resolve(exp, Protocol::Full, Some(&path), &[])?;
    Ok(resolved.table)
}
