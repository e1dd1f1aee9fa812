# Emulator images, built by compose/build-emulator-image.sh (it prepares the wheelhouse; no network inside the build):
#   --target tgi  (the default): `docker run IMAGE [text-generation-launcher flags]`, like ghcr.io/huggingface/text-generation-inference
#   --target vllm: `docker run IMAGE MODEL [vllm serve flags]`, like vllm/vllm-openai (ENTRYPOINT ["vllm", "serve"])
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
COPY wheelhouse /tmp/wheelhouse
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --no-cache-dir --disable-pip-version-check \
      --find-links /tmp/wheelhouse "tgi-orchestrator[emulator]" \
 && /opt/venv/bin/pip uninstall -y --disable-pip-version-check pip setuptools \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} + \
 && printf '#!/bin/sh\nexec /opt/venv/bin/python -m orchestrator.emulator "$@"\n' > /opt/venv/bin/text-generation-launcher \
 && printf '#!/bin/sh\nexec /opt/venv/bin/python -m orchestrator.emulator.vllm "$@"\n' > /opt/venv/bin/vllm \
 && chmod 755 /opt/venv/bin/text-generation-launcher /opt/venv/bin/vllm

# vLLM 0.33.0's image: `vllm serve` as the exec-form entrypoint (PID 1, gets `docker stop`'s SIGTERM and drains for
# --shutdown-timeout), no CMD, no EXPOSE, port 8000, logs on stdout, the HF cache under /root/.cache/huggingface.
FROM ${BASE_IMAGE} AS vllm
COPY --from=build /opt/venv /opt/venv
RUN ln -s /opt/venv/bin/vllm /usr/local/bin/vllm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VLLM_USAGE_SOURCE=production-docker-image \
    EMULATOR_DOCKER_LABEL=emulator-vllm
WORKDIR /vllm-workspace
ENTRYPOINT ["vllm", "serve"]

# TGI's image (the last stage, so a plain `docker build` still makes it).
FROM ${BASE_IMAGE} AS tgi
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
