//! The S1 experiment `multidomain` through the binary: without data, an error naming both data
//! sets and how to get them; its `--quick` form on the real data from `DISTILLERY_DATA` (loudly SKIPPED without
//! it); and the S1 checks of `verify`.

use crate::sandbox::*;

#[test]
fn multidomain_without_data_names_both_data_sets_and_their_fetch_commands() {
    let sb = Sandbox::new();
    let err = sb.fails(&["run", "multidomain", "--quick", "--out", "res"]);
    for needle in [
        "experiment multidomain cannot run here",
        "Fashion-MNIST is missing; get it with `distillery data fetch fashion-mnist`",
        "MNIST is missing; get it with `distillery data fetch mnist`",
    ] {
        assert!(err.contains(needle), "lacks {needle}: {err}");
    }
}

#[test]
fn multidomain_quick_on_the_real_data() {
    let Some(root) = nn::data::testing::real_data_root("multidomain_quick_on_the_real_data") else {
        return;
    };
    let sb = Sandbox::new();
    let root = root.display().to_string();
    let out = sb.ok(&[
        "run",
        "multidomain",
        "--quick",
        "--out",
        "res",
        "--data-dir",
        &root,
    ]);
    assert_eq!(out.matches("done: ").count(), 2, "{out}");
    let report = read(&sb.path("res/multidomain/report.md"));
    for needle in [
        "Quick protocol",
        // the nine rows next to the published Table 2
        "| Fashion-MNIST (all) / — / — | test accuracy |",
        "| train small / train big / dilation | test cross entropy |",
        "| train small / MNIST / — (clothes to the digit teacher) | test accuracy |",
        "| train small / synthetic MNIST / VAE | test accuracy |",
        "| 0.879 | S1, Table 2 |",
        "| 1.241 | S1, Table 2 |",
        // which MNIST, and the figures
        "MNIST: ",
        "big part + 1000 small part",
        "## Figures",
        "![vae_pairs.png](figures/vae_pairs.png)",
        "![latent_grid_digits.png](figures/latent_grid_digits.png)",
        "lambda_sweep_test_accuracy.svg",
        "fig10_vae_or_no_map_test_accuracy.svg",
    ] {
        assert!(report.contains(needle), "lacks {needle}:\n{report}");
    }
    let run = |seed: u64| json(&sb.path(&format!("res/multidomain/runs/{seed}.json")));
    let (first, second) = (run(0), run(1));
    assert_eq!(first["protocol"], "quick");
    for line in [
        "Fashion-MNIST (all), no teacher",
        "Fashion-MNIST (all), teacher Fashion-MNIST",
        "train small, no teacher",
        "train small, teacher train big, identity",
        "train small, teacher train big, noise",
        "train small, teacher train big, dilation",
        "train small, teacher MNIST, VAE",
        "train small, teacher MNIST, no map",
        "train small, teacher synthetic MNIST, VAE",
    ] {
        let acc = first["finals"][line]["test_accuracy"].as_f64().unwrap();
        // ten classes: chance is 0.1; even three quick epochs on 1,000 images learn something
        assert!(acc > 0.2, "{line}: {acc}");
        let ce = first["finals"][line]["test_cross_entropy"]
            .as_f64()
            .unwrap();
        assert!(ce.is_finite() && ce > 0.0, "{line}: {ce}");
    }
    // one teacher and one VAE, shared by the seeds
    assert_eq!(first["models"], second["models"]);
    assert_eq!(
        first["finals"]["teacher: MNIST"],
        second["finals"]["teacher: MNIST"]
    );
    // the sweep: one point per λ of the quick config (0, 0.5, 1)
    let sweep = &first["curves"]["identity map (teacher train big), λ sweep"];
    assert_eq!(
        sweep["lambda_sweep_test_accuracy"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    for file in [
        "sample_noise_dilation.png",
        "vae_pairs.png",
        "synthetic_mnist.png",
        "latent_grid_digits.png",
        "latent_grid_clothes.png",
    ] {
        let bytes = std::fs::read(sb.path(&format!("res/multidomain/figures/{file}"))).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{file}");
    }
}

#[test]
fn verify_lists_and_runs_the_s1_checks() {
    let sb = Sandbox::new();
    let list = sb.ok(&["verify", "--list"]);
    for name in [
        "theorem/s1/elbo-bound",
        "theorem/s1/elbo-exact-posterior",
        "theorem/s1/reparameterized-gradient",
    ] {
        assert!(list.contains(&format!("{name}\t")), "--list lacks {name}");
    }
    let table = sb.ok(&["verify", "--only", "theorem/s1"]);
    assert!(table.contains("3 of 3 checks passed"), "{table}");
}
