//! The data an experiment needs, and whether it is here.

use std::path::Path;

use nn::data::{DatasetId, Discovery, FETCH_COMMAND};

/// Something a run reads from outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataNeed {
    /// A data set of nn's catalog. [`DatasetId::Mnist`] is satisfied by the full MNIST or by
    /// the 10,000-digit subset (the run records which it got).
    #[allow(dead_code)] // frame API, for the method experiments on the image data sets
    Images(DatasetId),
    /// A file the user supplies through a config key (an empty path: not supplied).
    File {
        /// The config key holding the path.
        key: &'static str,
        /// Its value.
        path: String,
        /// What the file is, e.g. "the Sentiment140 training CSV".
        what: &'static str,
        /// Where to get it.
        how_to_get: &'static str,
    },
}

/// A need that is not met here: what is missing and how to get it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Missing {
    /// What is missing, e.g. "Fashion-MNIST".
    pub what: String,
    /// The command or step that provides it, e.g. "distillery data fetch fashion-mnist".
    pub fix: String,
}

/// The needs that `discovery` (and the file system) cannot meet. The messages name no
/// directory of this machine, so that reports merged from several machines agree.
pub fn missing_data(needs: &[DataNeed], discovery: &Discovery) -> Vec<Missing> {
    needs
        .iter()
        .filter_map(|need| match need {
            DataNeed::Images(id) => {
                let found = match id {
                    DatasetId::Mnist => discovery.mnist().is_ok(),
                    other => discovery.get(*other).is_ok(),
                };
                let fetchable = if id.fetchable() {
                    *id
                } else {
                    DatasetId::Mnist
                };
                (!found).then(|| Missing {
                    what: id.to_string(),
                    fix: format!("{FETCH_COMMAND} {}", fetchable.dir_name()),
                })
            }
            DataNeed::File {
                key,
                path,
                what,
                how_to_get,
            } => {
                let fix = format!("{how_to_get}; then pass it with --set {key}=PATH");
                if path.is_empty() {
                    Some(Missing {
                        what: format!("{what} (config key `{key}` is empty)"),
                        fix,
                    })
                } else if !Path::new(path).is_file() {
                    Some(Missing {
                        what: format!("{what} (`{key}` = {path:?} is not a file)"),
                        fix,
                    })
                } else {
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn::data::discover_in;

    #[test]
    fn missing_data_names_the_fetch_command_or_the_config_key() {
        let nothing = discover_in(Vec::new());
        let needs = [
            DataNeed::Images(DatasetId::FashionMnist),
            DataNeed::Images(DatasetId::Mnist10k),
            DataNeed::File {
                key: "csv",
                path: String::new(),
                what: "a CSV",
                how_to_get: "download it",
            },
            DataNeed::File {
                key: "csv",
                path: "/no/such/file.csv".into(),
                what: "a CSV",
                how_to_get: "download it",
            },
        ];
        let missing = missing_data(&needs, &nothing);
        assert_eq!(missing.len(), 4);
        assert_eq!(missing[0].fix, "distillery data fetch fashion-mnist");
        assert_eq!(missing[1].fix, "distillery data fetch mnist");
        assert!(
            missing[2].what.contains("`csv` is empty"),
            "{:?}",
            missing[2]
        );
        assert!(
            missing[2].fix.contains("--set csv=PATH"),
            "{:?}",
            missing[2]
        );
        assert!(
            missing[3].what.contains("is not a file"),
            "{:?}",
            missing[3]
        );
    }

    #[test]
    fn an_existing_file_is_not_missing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.csv");
        std::fs::write(&file, "a").unwrap();
        let need = DataNeed::File {
            key: "csv",
            path: file.display().to_string(),
            what: "a CSV",
            how_to_get: "",
        };
        assert!(missing_data(&[need], &discover_in(Vec::new())).is_empty());
    }
}
