//! Every Bayesian distillation check (`methods::bayes::checks`) passes with its defaults; each
//! outcome's tolerance is justified in its configuration.

use methods::bayes::checks::run_all;

#[test]
fn every_bayes_check_passes() {
    let outcomes = run_all().unwrap();
    assert_eq!(outcomes.len(), 7);
    for o in &outcomes {
        assert!(o.passed, "{o}");
        assert!(o.measured.is_finite(), "{o}");
    }
}
