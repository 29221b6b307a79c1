# devex tasks. `just --list` shows them.

# Import the bundled sample organisation into ./devex-data, show its metrics, write its scorecard.
demo:
    cargo run -p devex-cli -- demo

# Every test (the README's command; CI runs it after the cluster's tests below).
test:
    cargo test --workspace

# The tests of a real Ballista cluster, in a build with the `cluster` feature.
test-cluster:
    cargo test --workspace --features devex-cli/cluster --test e2e -- cluster::

# Formatting and lints, as CI expects them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --workspace --all-targets --features devex-cli/cluster -- -D warnings

# The large-organisation benchmark: >= 2M changes, 700k deployments, 40k incidents;
# times `devex metrics --by team` over two years against the same SQL in DuckDB on the
# same Parquet (checked to give the same numbers), `devex report` (wall and peak RSS), and
# `devex effect --by team` (999 replicates) against `devex trends --by team`;
# imports the 2M changes as NDJSON against DuckDB's read_json -> COPY TO parquet
# (DuckDB from PyPI), then an 8 GiB NDJSON export (which must stay within
# lake.import_memory_mb), then a night of new changes into the rest.
# Then syncs 50 repositories x 200 deployments from a local GitHub answering in 50 ms,
# and 50 projects x 200 deployments (10,000) from a local GitLab answering in 50 ms.
# Then `devex serve`: metrics(...) latency p50/p95 with 1 and 20 clients over the same lake.
# Then a Typeform and a Google form of 50,000 responses each, answering in 50 ms a request:
# the first run's and an incremental run's wall time and requests.
bench:
    python3 -m pip install --quiet duckdb || echo "no duckdb: the import bench prints no ratio"
    cargo bench -p devex-cli --bench metrics_large
    cargo bench -p devex-cli --bench import_large
    cargo bench -p devex-cli --bench serve_latency
    cargo bench -p devex-sources --bench github_sync
    cargo bench -p devex-sources --bench gitlab_sync
    cargo bench -p devex-sources --bench forms_sync

# Scale: a generated organisation (default about 20M changes, 2M deployments; DEVEX_SCALE=270 copies
# of the 8 teams, DEVEX_SCALE_COMMITS=13.5 commits per deployment) imported into an S3 on loopback
# (moto_server, started by the bench), then `devex metrics --by team` over it locally and on a
# cluster of 1 scheduler and 2 executors (checked equal). Figures: docs/scale.md.
bench-scale:
    python3 -m pip install --quiet 'moto[server]'
    cargo bench -p devex-cli --features cluster --bench scale

# Write the sample organisation's scorecard to reports/demo/ (after `just demo`).
report:
    cargo run -p devex-cli -- --config sample-data/devex.toml report --out reports/demo

# Regenerate sample-data/ from the seeded generator (a test checks it is up to date).
sample:
    cargo run -p devex-synth -- --out sample-data

# What a release would build and publish (needs `cargo install --locked cargo-dist`);
# fails if .github/workflows/release.yml is out of date with dist-workspace.toml.
dist-plan:
    dist plan

# The container image, as the release workflow builds it (needs docker or podman).
image:
    docker build -t devex --build-arg DEVEX_BUILD_COMMIT="$(git rev-parse --short=12 HEAD)" .
