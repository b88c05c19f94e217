//! Every numbered example of `examples/` runs here in its short form (`--short`), in process:
//! each file is compiled into this test as a module and its `run(true)` must return `Ok`, which
//! it does only when every check it prints passed. So an example that stops compiling, errors
//! or whose checks fail breaks the test suite.

// Each example declares `mod common;`, so the helpers are compiled once per example module here
// (and once more below for the test of the checks themselves): intended.
#![allow(clippy::duplicate_mod)]

#[path = "../examples/common/mod.rs"]
mod common;

macro_rules! examples {
    ($($module:ident => $file:literal),* $(,)?) => {
        $(
            #[allow(dead_code)] // the example's `main`
            #[path = $file]
            mod $module;

            #[test]
            fn $module() {
                if let Err(e) = $module::run(true) {
                    panic!("example {}: {e}", $file);
                }
            }
        )*
    };
}

examples! {
    ex01_scalar_autograd => "../examples/01_scalar_autograd.rs",
    ex02_broadcasting => "../examples/02_broadcasting.rs",
    ex03_second_order => "../examples/03_second_order.rs",
    ex04_training_loop => "../examples/04_training_loop.rs",
    ex05_hinton_temperature => "../examples/05_hinton_temperature.rs",
    ex06_bayes_conditioning => "../examples/06_bayes_conditioning.rs",
    ex07_lipschitz => "../examples/07_lipschitz.rs",
    ex08_hypergradient => "../examples/08_hypergradient.rs",
    ex09_multidomain => "../examples/09_multidomain.rs",
    ex10_hypernetwork => "../examples/10_hypernetwork.rs",
}

/// The checks can fail: a value outside its tolerance, and a NaN, make `finish` an error.
#[test]
fn a_failed_check_fails_the_example() {
    let mut checks = common::Checks::new();
    checks.at_most("inside", 0.5, 1.0, "test");
    assert!(checks.finish().is_ok());
    let mut checks = common::Checks::new();
    checks.at_most("outside", 2.0, 1.0, "test");
    assert!(checks.finish().is_err());
    let mut checks = common::Checks::new();
    checks.at_most("NaN", f64::NAN, 1.0, "test");
    assert!(checks.finish().is_err());
}

/// Every numbered example file is listed above (a new one cannot be forgotten).
#[test]
fn every_numbered_example_is_run() {
    let listed = [
        "01_scalar_autograd.rs",
        "02_broadcasting.rs",
        "03_second_order.rs",
        "04_training_loop.rs",
        "05_hinton_temperature.rs",
        "06_bayes_conditioning.rs",
        "07_lipschitz.rs",
        "08_hypergradient.rs",
        "09_multidomain.rs",
        "10_hypernetwork.rs",
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut numbered: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .collect();
    numbered.sort();
    assert_eq!(
        numbered, listed,
        "add the new example to the `examples!` list"
    );
}
