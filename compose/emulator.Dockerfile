# TGI emulator image: `docker run IMAGE [text-generation-launcher flags]`, like ghcr.io/huggingface/text-generation-inference.
# Build with compose/build-emulator-image.sh (it prepares the wheelhouse; no network is used inside the build).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
COPY wheelhouse /tmp/wheelhouse
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --no-cache-dir --disable-pip-version-check \
      --find-links /tmp/wheelhouse "tgi-orchestrator[emulator]" \
 && /opt/venv/bin/pip uninstall -y --disable-pip-version-check pip setuptools \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} + \
 && printf '#!/bin/sh\nexec /opt/venv/bin/python -m orchestrator.emulator "$@"\n' > /opt/venv/bin/text-generation-launcher \
 && chmod 755 /opt/venv/bin/text-generation-launcher

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
# Same entrypoint path as TGI >= 2.0 (orchestrator wraps it with `sh -c '...; exec "$0" "$@"' /tgi-entrypoint.sh`).
RUN printf '#!/bin/sh\nexec /opt/venv/bin/python -m orchestrator.emulator "$@"\n' > /tgi-entrypoint.sh \
 && chmod 755 /tgi-entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=80 \
    HF_HOME=/data \
    EMULATOR_DOCKER_LABEL=emulator
WORKDIR /data
EXPOSE 80
# The script execs Python, so the emulator is PID 1 and gets `docker stop`'s SIGTERM (drain up to
# --graceful-termination-timeout), as TGI >= 2.4.
ENTRYPOINT ["/tgi-entrypoint.sh"]
