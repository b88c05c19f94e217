//! `distillery explain [NAME]`: what an op of the engine computes and how it is differentiated,
//! from the engine's one table of ops (`autograd::op_table::TABLE`, the table that drives the
//! property tests and `distillery verify`'s op checks): the formula, where the forward and the
//! VJP live (file:line), the VJP in words, and a live gradient check at orders 1 and 2 on the
//! instance `distillery verify --only op/NAME` checks, with its worst element. The layers of
//! `distillery verify`'s layer table likewise, as `layer/NAME`, and the methods' losses and
//! objectives of its loss table as `loss/NAME` (where the function is, its formula with the
//! paper's symbols, the gradient in words, the live checks). Without a name, the list of names.

use anyhow::{bail, Result};
use autograd::op_table::{find, Backward, Entry, TABLE};
use autograd::{gradcheck, gradgradcheck, GradCheckReport, Tolerance};

use crate::verify::layers::{layer_checks, Layer, LAYERS};
use crate::verify::losses::{self, Loss, LOSSES};
use crate::verify::values::rng_for;

/// Runs the command: the list without a name, else the explanation (an error when a check fails
/// or the name is unknown).
pub fn explain_command(name: Option<&str>) -> Result<()> {
    match name {
        None => {
            print!("{}", list());
            Ok(())
        }
        Some(name) => {
            if let Some(layer_name) = name.strip_prefix("layer/") {
                let layer = named(LAYERS, |l| l.name, layer_name, "layer")?;
                return print_checked(explain_layer(layer)?, name);
            }
            if let Some(loss_name) = name.strip_prefix("loss/") {
                let l = named(LOSSES, |l| l.name, loss_name, "loss")?;
                return print_checked(explain_loss(l)?, name);
            }
            let name = name.strip_prefix("op/").unwrap_or(name);
            let Some(entry) = find(name) else {
                let close: Vec<&str> = TABLE
                    .iter()
                    .map(|e| e.name)
                    .filter(|n| n.contains(name) || name.contains(n))
                    .collect();
                let hint = if close.is_empty() {
                    String::new()
                } else {
                    format!(" (did you mean {}?)", close.join(", "))
                };
                bail!(
                    "no op named {name:?} in the op table{hint}; `distillery explain` lists them"
                );
            };
            print_checked(explain(entry)?, name)
        }
    }
}

/// The entry of `table` called `name`, or an error naming the table (`what`: "layer", "loss").
fn named<'a, T>(table: &'a [T], key: fn(&T) -> &str, name: &str, what: &str) -> Result<&'a T> {
    match table.iter().find(|e| key(e) == name) {
        Some(entry) => Ok(entry),
        None => {
            bail!("no {what} named {name:?} in the {what} table; `distillery explain` lists them")
        }
    }
}

/// Prints an explanation, and fails when its live gradient check (of `name`) did not pass.
fn print_checked((text, passed): (String, bool), name: &str) -> Result<()> {
    print!("{text}");
    if !passed {
        bail!("the gradient check of {name} failed");
    }
    Ok(())
}

/// Every name, whether it is a primitive or a composite, and its formula.
pub fn list() -> String {
    let width = TABLE.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let mut out = format!(
        "{} ops in the table (`distillery explain NAME` for one):\n",
        TABLE.len()
    );
    for e in TABLE {
        out.push_str(&format!(
            "  {:<width$}  {:<9}  {}\n",
            e.name,
            kind(e),
            e.doc.formula
        ));
    }
    let width = LAYERS.iter().map(|l| l.name.len()).max().unwrap_or(0);
    out.push_str(&format!(
        "\n{} layers of nn (`distillery explain layer/NAME`):\n",
        LAYERS.len()
    ));
    for l in LAYERS {
        out.push_str(&format!("  layer/{:<width$}  {}\n", l.name, l.formula));
    }
    let width = LOSSES.iter().map(|l| l.name.len()).max().unwrap_or(0);
    out.push_str(&format!(
        "\n{} losses and objectives of the methods (`distillery explain loss/NAME`):\n",
        LOSSES.len()
    ));
    for l in LOSSES {
        out.push_str(&format!("  loss/{:<width$}  {}\n", l.name, l.formula));
    }
    out
}

/// `file:line` of the text `anchor` in a file of the workspace, read from the source tree this
/// program was built from; `file (…)` when the tree is not there or the text is not found once.
fn workspace_site(file: &str, anchor: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(file);
    let line = std::fs::read_to_string(path).ok().and_then(|text| {
        let mut hits = text.match_indices(anchor);
        let (at, _) = hits.next()?;
        hits.next()
            .is_none()
            .then(|| text[..at].matches('\n').count() + 1)
    });
    match line {
        Some(line) => format!("{file}:{line}"),
        None => format!("{file} (at {anchor:?})"),
    }
}

/// The explanation of one layer and whether its checks passed.
fn explain_layer(l: &Layer) -> Result<(String, bool)> {
    let mut out = format!("layer/{} — a module of nn\n\n", l.name);
    out.push_str(&format!("  formula   {}\n", l.formula));
    out.push_str(&format!(
        "  forward   {}\n",
        workspace_site(l.forward.0, l.forward.1)
    ));
    out.push_str(
        "  VJP       none of its own: the tape applies the VJPs of the ops the forward records\n",
    );
    out.push_str(&format!("            {}\n\n", l.vjp));
    out.push_str(&format!(
        "  live check (the one `distillery verify --only layer/{}` runs), in the input and every \
         parameter:\n",
        l.name
    ));
    let mut passed = true;
    for (order, outcome) in layer_checks(l)? {
        passed &= outcome.passed;
        out.push_str(&format!("  order {order}   {}\n", outcome.detail));
    }
    Ok((out, passed))
}

/// The explanation of one loss of the methods and whether both of its checks passed.
fn explain_loss(l: &Loss) -> Result<(String, bool)> {
    let mut out = format!("loss/{} — a loss of the methods\n\n", l.name);
    out.push_str(&format!("  formula   {}\n", l.formula));
    out.push_str(&format!(
        "  function  {}\n",
        workspace_site(l.site.0, l.site.1)
    ));
    out.push_str(&format!("  gradient  {}\n", l.gradient));
    out.push_str(
        "            (none of its own: a composite of autograd ops, the tape applies their VJPs)\n\n",
    );
    out.push_str(&format!(
        "  live check (the one `distillery verify --only loss/{}` runs), in {}:\n",
        l.name, l.checked
    ));
    let mut passed = true;
    for order in [1, 2] {
        let outcome = losses::run(l, order)?;
        passed &= outcome.passed;
        out.push_str(&format!("  order {order}   {}\n", outcome.detail));
    }
    Ok((out, passed))
}

fn kind(e: &Entry) -> &'static str {
    match e.doc.backward {
        Backward::Rule(_) => "primitive",
        Backward::Composite => "composite",
    }
}

/// The explanation of one entry and whether both checks passed.
pub fn explain(e: &Entry) -> Result<(String, bool)> {
    let doc = &e.doc;
    let mut out = format!("{} — {}\n\n", e.name, kind(e));
    out.push_str(&format!("  formula   {}\n", doc.formula));
    out.push_str(&format!("  forward   {}\n", doc.forward));
    match doc.backward {
        Backward::Rule(site) => out.push_str(&format!("  VJP       {site}\n")),
        Backward::Composite => out.push_str(
            "  VJP       none of its own: the tape applies the VJPs of the ops the forward records\n",
        ),
    }
    out.push_str(&format!("            {}\n\n", doc.vjp));
    let instance = (e.draw)(&mut rng_for(e.name));
    let shapes: Vec<String> = instance
        .inputs
        .iter()
        .map(|x| format!("{:?}", x.shape()))
        .collect();
    out.push_str(&format!(
        "  live check on a random instance (the one `distillery verify --only op/{}` checks), \
         inputs of shape {}:\n",
        e.name,
        shapes.join(", ")
    ));
    let tol = Tolerance::default();
    let first = gradcheck(&*instance.f, &instance.inputs, tol)?;
    let second = gradgradcheck(&*instance.f, &instance.inputs, tol)?;
    out.push_str(&format!("  order 1   {}\n", line(&first)));
    out.push_str(&format!("  order 2   {}\n", line(&second)));
    out.push_str(&format!(
        "            (central differences, ε = {:e}; an element passes when |analytic − numeric| \
         ≤ {:e} + {:e}·|numeric|)\n",
        tol.eps, tol.atol, tol.rtol
    ));
    Ok((out, first.passed() && second.passed()))
}

fn line(report: &GradCheckReport) -> String {
    report.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_explains_and_passes() {
        for e in TABLE {
            let (text, passed) = explain(e).unwrap();
            assert!(passed, "{text}");
            assert!(text.contains(e.doc.formula) && text.contains(e.doc.vjp));
            // every site resolved to a line
            assert!(!text.contains("not found"), "{text}");
        }
    }

    #[test]
    fn every_layer_explains_with_its_line_and_passes() {
        for l in LAYERS {
            let (text, passed) = explain_layer(l).unwrap();
            assert!(passed, "{text}");
            assert!(
                !text.contains("(at "),
                "the anchor was not found once: {text}"
            );
        }
    }

    /// Every loss explains with its function's line (a text that is no longer in the file, or
    /// is there twice, fails here) and passes both checks.
    #[test]
    fn every_loss_explains_with_its_line_and_passes() {
        for l in LOSSES {
            let (text, passed) = explain_loss(l).unwrap();
            assert!(passed, "{text}");
            assert!(
                !text.contains("(at "),
                "the anchor was not found once: {text}"
            );
            assert!(
                text.contains(l.formula) && text.contains(l.gradient),
                "{text}"
            );
        }
    }

    #[test]
    fn the_list_names_every_entry() {
        let l = list();
        for e in TABLE {
            assert!(l
                .lines()
                .any(|line| line.split_whitespace().next() == Some(e.name)));
        }
        for loss in LOSSES {
            let name = format!("loss/{}", loss.name);
            assert!(l
                .lines()
                .any(|line| line.split_whitespace().next() == Some(name.as_str())));
        }
    }
}
