//! `distillery explain`: the list of the op table's, the layer table's and the loss table's
//! names, one op's and one layer's formula, sites and live checks, every loss's, and an unknown
//! name's error.

use crate::sandbox::*;

#[test]
fn explain_lists_every_op_and_explains_one() {
    let sb = Sandbox::new();
    let list = sb.ok(&["explain"]);
    for name in [
        "exp",
        "matmul",
        "conv2d",
        "softmax",
        "cross_entropy",
        "kl_diag_gaussian",
    ] {
        assert!(
            list.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} not listed:\n{list}"
        );
    }
    // a primitive: its rule's site; both orders checked, with the worst element
    let tanh = sb.ok(&["explain", "tanh"]);
    assert!(tanh.contains("y = tanh x"), "{tanh}");
    assert!(tanh.contains("autograd/src/ops/unary.rs:"), "{tanh}");
    assert!(tanh.contains("x̄ = ȳ·(1 − y²)"), "{tanh}");
    for order in ["order 1   passed", "order 2   passed"] {
        assert!(tanh.contains(order), "{tanh}");
    }
    assert!(
        tanh.contains("analytic") && tanh.contains("numeric"),
        "{tanh}"
    );
    // a composite: no rule of its own
    let ce = sb.ok(&["explain", "cross_entropy"]);
    assert!(
        ce.contains("composite") && ce.contains("none of its own"),
        "{ce}"
    );
    assert!(ce.contains("autograd/src/functional/loss.rs:"), "{ce}");
    // a layer of nn, by its name in verify's layer table
    assert!(list.contains("layer/orthonormal_linear"), "{list}");
    let linear = sb.ok(&["explain", "layer/linear"]);
    assert!(linear.contains("nn/src/layers/linear.rs:"), "{linear}");
    assert!(linear.contains("order 2   passed"), "{linear}");
}

#[test]
fn an_unknown_op_names_the_close_ones() {
    let sb = Sandbox::new();
    let err = sb.fails(&["explain", "matmu"]);
    assert!(err.contains("no op named \"matmu\""), "{err}");
    assert!(err.contains("matmul_tb"), "{err}");
}

/// Every loss the list names explains, with its function's `file:line`, its formula, its
/// gradient, and both checks passed (the list is the loss table: no loss listed untested).
#[test]
fn every_loss_of_the_list_explains_and_passes() {
    let sb = Sandbox::new();
    let list = sb.ok(&["explain"]);
    let losses: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("loss/"))
        .collect();
    // the methods' losses the issue names, at least
    for name in [
        "loss/hinton",
        "loss/generalized_distillation",
        "loss/prob_distill",
        "loss/multidomain",
        "loss/complexity",
        "loss/kl_to_prior",
        "loss/bayes_kl_full",
        "loss/wasserstein_penalty",
        "loss/critic_dual",
        "loss/meta_hypergradient",
    ] {
        assert!(losses.contains(&name), "{name} not listed:\n{list}");
    }
    for name in losses {
        let text = sb.ok(&["explain", name]);
        assert!(
            text.starts_with(&format!("{name} — a loss of the methods")),
            "{text}"
        );
        let site = text
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("function  "))
            .unwrap_or_else(|| panic!("no function line: {text}"));
        let (file, line) = site
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{name}: the anchor did not resolve to a line: {site}"));
        assert!(
            file.starts_with("methods/src/") && line.parse::<usize>().is_ok(),
            "{site}"
        );
        for needle in [
            "formula   ",
            "gradient  ",
            "order 1   passed",
            "order 2   passed",
        ] {
            assert!(text.contains(needle), "{name} lacks {needle:?}:\n{text}");
        }
    }
    let err = sb.fails(&["explain", "loss/hintonn"]);
    assert!(err.contains("no loss named \"hintonn\""), "{err}");
}
