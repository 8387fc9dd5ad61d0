# tether's container image. `tether serve` by default; the same image runs `tether worker`.
#   docker build -t tether:0.1.0 .
# Dependencies come from requirements.lock, pinned by hash; the package itself adds none.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/tether
WORKDIR /build
# the lock alone first, so a change to the code reuses the dependency layer
COPY requirements.lock ./
RUN /opt/tether/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE NOTICE ./
COPY src ./src
RUN /opt/tether/bin/pip install --no-deps --no-build-isolation . \
    && /opt/tether/bin/tether --help > /dev/null

FROM ${PYTHON_IMAGE}
# a fixed UID and GID, so volumes and secrets can be granted to it on any host
RUN groupadd --system --gid 10001 tether \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tether \
        --shell /usr/sbin/nologin tether \
    && mkdir -p /var/lib/tether/audit \
    && chown -R 10001:10001 /var/lib/tether \
    && chmod 0700 /var/lib/tether/audit
COPY --from=build /opt/tether /opt/tether
# TETHER_HOME holds the SQLite file of a single container and, unless TETHER_AUDIT_DIR moves
# them, the audit signing key, trust file and checkpoint sink: mount a volume on it
ENV PATH=/opt/tether/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TETHER_HOME=/var/lib/tether
# `tether worker` serves its Prometheus metrics on 9464 of every address of the container
# (`tether serve` has /metrics on its own port and ignores these); 0 turns them off
ENV TETHER_WORKER_METRICS_HOST=0.0.0.0 \
    TETHER_WORKER_METRICS_PORT=9464
WORKDIR /var/lib/tether
USER 10001:10001
EXPOSE 8000 9464
# liveness only (/healthz); a balancer should route on /readyz instead
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["tether"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
