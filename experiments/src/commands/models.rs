//! `distillery models`: the trained models stored under a results directory, and which
//! experiments' runs used each.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use nn::store::ModelStore;

use crate::cli::ModelsArgs;
use crate::experiment::RunFile;
use crate::results::{read_json, Tree};

/// `distillery models`.
pub fn models_command(args: &ModelsArgs) -> Result<()> {
    let tree = Tree::new(&args.out);
    let store = ModelStore::new(tree.models_dir());
    let listed = store.list()?;
    if listed.is_empty() {
        println!(
            "no stored models in {} (experiments store their teachers there as they train them)",
            store.dir().display()
        );
        return Ok(());
    }
    let users = users(tree.root())?;
    println!(
        "{:<44} {:>10} {:>10} {:>9} {:>9}  used by",
        "model (NAME-HASH)", "parameters", "size", "test acc", "test CE"
    );
    for (sidecar_path, sidecar) in listed {
        let stem = sidecar_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sidecar = match sidecar {
            Ok(s) => s,
            Err(e) => {
                println!("{stem:<44} unreadable sidecar ({e}): it will be retrained when used");
                continue;
            }
        };
        let weights = sidecar_path.with_extension("safetensors");
        let size = fs::metadata(&weights).map_or_else(
            |_| "missing".to_owned(),
            |m| format!("{:.1} MiB", m.len() as f64 / (1024.0 * 1024.0)),
        );
        let (acc, ce) = sidecar.training.test.map_or_else(
            || ("—".to_owned(), "—".to_owned()),
            |e| {
                (
                    format!("{:.4}", e.accuracy),
                    format!("{:.4}", e.cross_entropy),
                )
            },
        );
        let used: Vec<String> = users
            .get(&stem)
            .map(|u| u.iter().cloned().collect())
            .unwrap_or_default();
        println!(
            "{stem:<44} {:>10} {size:>10} {acc:>9} {ce:>9}  {}",
            sidecar.parameter_count,
            if used.is_empty() {
                "—".to_owned()
            } else {
                used.join(", ")
            }
        );
        if args.verbose {
            println!("    {}", sidecar.identity.architecture);
            println!("    training: {}", sidecar.identity.training);
            println!("    seed: {}", sidecar.identity.seed);
            for d in &sidecar.identity.data {
                println!("    data: {} sha256 {}", d.name, d.sha256);
            }
            println!("    trained in {:.1} s", sidecar.wall_time_s);
        }
    }
    Ok(())
}

/// For each stored model's stem, the experiments whose finished runs under `root` used it.
fn users(root: &Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Ok(experiments) = fs::read_dir(root) else {
        return Ok(users);
    };
    for entry in experiments.flatten() {
        let runs = entry.path().join("runs");
        let Ok(files) = fs::read_dir(&runs) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let run: Option<RunFile> =
                read_json(&path).with_context(|| format!("reading {}", path.display()))?;
            for stem in run.iter().flat_map(|r| r.record.models.values()) {
                users
                    .entry(stem.clone())
                    .or_default()
                    .insert(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    Ok(users)
}
