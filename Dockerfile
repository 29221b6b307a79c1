# syntax=docker/dockerfile:1
# The devex container image: built with the Rust toolchain, run on distroless as a
# non-root user, with the lake on the /data volume.
#
#   docker build -t devex --build-arg DEVEX_BUILD_COMMIT="$(git rev-parse --short=12 HEAD)" .
#   docker run --rm -v devex-data:/data devex demo
#   docker run --rm -v devex-data:/data devex metrics --last 90d --by team
#
# Released images are ghcr.io/devex-metrics/devex:<version> and :latest
# (.github/workflows/release.yml). A build takes about 35 minutes on 2 cores.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# The commit `devex --version` names (the build context has no .git).
ARG DEVEX_BUILD_COMMIT=unknown
ENV DEVEX_BUILD_COMMIT=${DEVEX_BUILD_COMMIT}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --profile dist -p devex-cli --features cluster \
    && install -D -m 0755 target/dist/devex /out/usr/local/bin/devex \
    && mkdir -p /out/data /out/work

# glibc, libgcc, CA certificates and tzdata; no shell. uid/gid 65532 ("nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/usr/local/bin/devex /usr/local/bin/devex
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/work /work
ENV DEVEX_DATA=/data \
    DEVEX_INVOCATION="docker run --rm -v devex-data:/data ghcr.io/devex-metrics/devex"
WORKDIR /work
VOLUME ["/data"]
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/devex"]
CMD ["--help"]
