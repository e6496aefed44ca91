# syntax=docker/dockerfile:1
# floe-agents, the CLI, as an image for the in-cluster CronJob in deploy/ (docs/kubernetes.md).
#
# Why two stages: the wheel is built by the project's own backend (hatchling maps the repository's playbooks/ into
# floe_agents/_builtin/playbooks, and takes the rules, topology.yaml and probe files inside floe_agents/), and only
# the installed wheel and its dependencies reach the runtime image: no source tree, no build tools, no secret. The
# credentials the probes log in with arrive at run time from the pod's environment (Secret references the kubelet
# resolves), never at build time.
#
# The base is pinned by exact version and digest (a tag can be re-pushed, a digest cannot); both stages use the same
# one so the venv copied from the first runs unchanged in the second.

FROM python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5 AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Exactly what the wheel is built from (pyproject.toml: [tool.hatch.build.targets.wheel] packages and force-include,
# and the readme it names); tests/deploy/test_dockerfile.py checks this list against pyproject.toml.
COPY pyproject.toml README.md ./
COPY floe_agents/ floe_agents/
COPY floe_lab/ floe_lab/
COPY playbooks/ playbooks/
# The product alone (no lab, no dev extras), plus the OTLP exporter the CLI sends its own spans with (to
# platform.yaml's otlp_endpoint): the package lists it only in its lab extra, and without it every run warns that
# its traces were not sent. pip compiles the bytecode here, because the runtime's root filesystem is read-only and
# Python could not write it there.
RUN python -m venv /opt/floe-agents \
 && /opt/floe-agents/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && /opt/floe-agents/bin/pip install /tmp/wheels/floe_agents-*.whl "opentelemetry-exporter-otlp>=1.27" \
 && /opt/floe-agents/bin/floe-agents --help >/dev/null

FROM python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5
LABEL org.opencontainers.image.title="floe-agents" \
      org.opencontainers.image.description="Diagnoses (and heals) a Floe data platform on Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric, non-root user: Kubernetes can only prove runAsNonRoot for a numeric UID.
RUN groupadd --system --gid 10001 floe \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin floe
COPY --from=build /opt/floe-agents /opt/floe-agents
# Read-only root filesystem in the pod: HOME and every cache point at /tmp (an emptyDir there), and Python never
# tries to write bytecode next to the installed modules.
ENV PATH=/opt/floe-agents/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    TMPDIR=/tmp
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["/opt/floe-agents/bin/floe-agents"]
CMD ["--help"]
