# devex tasks. `just --list` shows them.

# Import the bundled sample organisation into ./devex-data and show what landed.
demo:
    cargo run --release -p devex-cli -- demo

# Every test (the same command CI runs).
test:
    cargo test --workspace

# Formatting and lints, as CI expects them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks (the large-organisation metrics benchmark lands with the query layer).
bench:
    @echo "no benchmarks yet: the metrics benchmark arrives with the query layer (issue 3)"

# Regenerate sample-data/ from the seeded generator (a test checks it is up to date).
sample:
    cargo run -p devex-synth -- --out sample-data
