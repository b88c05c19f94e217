//! `distillery explain [NAME]`: what an op of the engine computes and how it is differentiated,
//! from the engine's one table of ops (`autograd::op_table::TABLE`, the table that drives the
//! property tests and `distillery verify`'s op checks): the formula, where the forward and the
//! VJP live (file:line), the VJP in words, and a live gradient check at orders 1 and 2 on the
//! instance `distillery verify --only op/NAME` checks, with its worst element. Without a name,
//! the list of names.

use anyhow::{bail, Result};
use autograd::op_table::{find, Backward, Entry, TABLE};
use autograd::{gradcheck, gradgradcheck, GradCheckReport, Tolerance};

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
            let (text, passed) = explain(entry)?;
            print!("{text}");
            if !passed {
                bail!("the gradient check of {name} failed");
            }
            Ok(())
        }
    }
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
    out
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
    fn the_list_names_every_entry() {
        let l = list();
        for e in TABLE {
            assert!(l
                .lines()
                .any(|line| line.split_whitespace().next() == Some(e.name)));
        }
    }
}
