//! `distillery explain`: the list of the op table's and the layer table's names, one op's and
//! one layer's formula, sites and live checks, and an unknown name's error.

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
