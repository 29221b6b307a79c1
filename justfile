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

# The large-organisation benchmark: >= 2M changes, 700k deployments, 40k incidents;
# times `devex metrics --by team` over two years (wall and peak RSS).
bench:
    cargo bench -p devex-cli --bench metrics_large

# Regenerate sample-data/ from the seeded generator (a test checks it is up to date).
sample:
    cargo run -p devex-synth -- --out sample-data
