# HAProxy image for `orchestrator up --replicas N`: Debian bookworm's haproxy (2.6 LTS, with the Prometheus
# exporter) on the project's base image. Built by compose/build-haproxy-image.sh, which downloads the .debs on
# the host, so no network is used inside the build.
ARG BASE_IMAGE=tgi-orchestrator/base:bookworm
FROM ${BASE_IMAGE}
COPY debs/*.deb /tmp/debs/
RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs && mkdir -p /var/lib/haproxy && haproxy -vv | grep -q prometheus-exporter
# The orchestrator copies the rendered configuration here before it starts the container.
# -W (master-worker): SIGUSR1 is HAProxy's soft stop: listeners close, in-flight streams finish, then it exits.
STOPSIGNAL SIGUSR1
ENTRYPOINT ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
