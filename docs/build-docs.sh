#!/bin/sh
# Builds the API documentation with its formulas rendered by KaTeX (docs/katex/README.md):
# rustdoc includes docs/katex/header.html in every page, and docs/katex/ is copied to the
# documentation root, from where the header loads it. Extra arguments go to `cargo doc`
# (e.g. --open). Warnings are errors, as in CI.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
rm -rf "$target/doc/katex"
mkdir -p "$target/doc/katex"
cp -r "$root/docs/katex/katex.min.js" "$root/docs/katex/katex.min.css" "$root/docs/katex/fonts" \
    "$root/docs/katex/LICENSE" "$target/doc/katex/"
RUSTDOCFLAGS="-D warnings --html-in-header $root/docs/katex/header.html ${RUSTDOCFLAGS:-}" \
    cargo doc --workspace --no-deps "$@"
echo "documentation with KaTeX: $target/doc/distillery/index.html"
