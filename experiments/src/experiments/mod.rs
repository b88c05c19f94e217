//! The registry: every experiment, registered once. The CLI (`run`, `reproduce`, `list`),
//! the reports and the tests all read this list.
//!
//! Adding an experiment: write `src/experiments/NAME.rs` with a unit struct implementing
//! [`Experiment`](crate::experiment::Experiment), and add `NAME::Struct` to `registry!` below.
//! Order here is the order of `reproduce` and of `REPORT.md`.

mod bayes_distill;
mod fashion_teachers;
mod meta_distill_lines;
#[cfg(test)]
mod meta_distill_tests;
mod s4_common;
#[cfg(test)]
mod s4_tests;
mod test_only;

use anyhow::{bail, Result};

use crate::experiment::DynExperiment;

/// Declares the experiment modules and the list of their experiments, one entry each.
macro_rules! registry {
    ($($module:ident :: $experiment:ident),* $(,)?) => {
        $(mod $module;)*

        /// Every registered experiment, in report order.
        pub static EXPERIMENTS: &[&dyn DynExperiment] = &[$(&$module::$experiment),*];
    };
}

registry! {
    logreg_synthetic::LogregSynthetic,
    prob_distill_synthetic::ProbDistillSynthetic,
    prob_distill_fashion::ProbDistillFashion,
    prob_distill_fashion_sweep::ProbDistillFashionSweep,
    prob_distill_twitter::ProbDistillTwitter,
    privileged_synthetic::PrivilegedSynthetic,
    multidomain::Multidomain,
    meta_distill::MetaDistill,
    w1_estimators::W1Estimators,
    transfer::Transfer,
    bayes_distill_neurons::BayesDistillNeurons,
    bayes_distill_layers::BayesDistillLayers,
    bayes_distill_fashion::BayesDistillFashion,
    hypernet::HypernetExperiment,
}

/// The registered experiments, followed by the test-only ones when
/// [`test_only::ENV_VAR`] is set (the CLI tests use them to reach code paths that need a
/// missing data set).
pub fn all() -> Vec<&'static dyn DynExperiment> {
    let mut list = EXPERIMENTS.to_vec();
    list.extend(test_only::experiments());
    list
}

/// The experiment called `name`; the error lists the names.
pub fn find(name: &str) -> Result<&'static dyn DynExperiment> {
    match all().into_iter().find(|e| e.info().name == name) {
        Some(e) => Ok(e),
        None => bail!(
            "no experiment called `{name}`; the experiments are: {} (`distillery list` \
             describes them)",
            names().join(", ")
        ),
    }
}

/// The experiments named in `only` (all when `None`), in registry order.
pub fn select(only: Option<&[String]>) -> Result<Vec<&'static dyn DynExperiment>> {
    let Some(names) = only else {
        return Ok(all());
    };
    for name in names {
        find(name)?;
    }
    Ok(all()
        .into_iter()
        .filter(|e| names.iter().any(|n| n == e.info().name))
        .collect())
}

fn names() -> Vec<&'static str> {
    all().iter().map(|e| e.info().name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::toml_config::leaf_keys;
    use crate::experiment::{resolve, Protocol};
    use std::collections::BTreeSet;

    fn is_kebab(s: &str) -> bool {
        !s.is_empty()
            && s.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    }

    fn is_snake(s: &str) -> bool {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    /// What every registered experiment must satisfy for the frame to work with it.
    #[test]
    fn every_experiment_is_well_formed() {
        let mut seen = BTreeSet::new();
        for exp in EXPERIMENTS {
            let info = exp.info();
            assert!(
                is_kebab(info.name),
                "{}: name must be kebab-case",
                info.name
            );
            assert!(seen.insert(info.name), "{}: registered twice", info.name);
            assert!(!info.description.is_empty() && !info.reproduces.is_empty());
            // every key documented, every documented key present, defaults valid
            for protocol in [Protocol::Full, Protocol::Quick] {
                let defaults = exp.defaults(protocol);
                let keys: BTreeSet<String> = leaf_keys(&defaults).into_iter().collect();
                let documented: BTreeSet<String> =
                    exp.fields().into_iter().map(|f| f.key).collect();
                assert_eq!(keys, documented, "{}: keys vs docs", info.name);
                resolve(*exp, protocol, None, &[]).unwrap();
            }
            assert_ne!(exp.defaults(Protocol::Full), exp.defaults(Protocol::Quick));
            for f in exp.fields() {
                assert!(!f.doc.is_empty(), "{}: `{}` undocumented", info.name, f.key);
            }
            for p in exp.plots() {
                assert!(is_snake(p.metric), "{}: plot {}", info.name, p.metric);
            }
            for c in exp.comparison() {
                assert!(is_snake(c.metric), "{}: row {}", info.name, c.metric);
            }
        }
    }

    #[test]
    fn unknown_names_are_errors_listing_the_known_ones() {
        let err = find("nope").unwrap_err().to_string();
        assert!(err.contains("logreg-synthetic"), "{err}");
        let err = select(Some(&["logreg-synthetic".into(), "nope".into()])).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
        let one = select(Some(&["logreg-synthetic".into()])).unwrap();
        assert_eq!(one.len(), 1);
    }
}
