# The add-on image. No Docker engine runs in CI, so scripts/build-image.sh performs these same
# steps without one and checks the result; it reads the package lists and the CMake flags below
# from this file. Keep the two in sync: the same COPY sources, the same install paths.
#
# The base: Home Assistant's Debian bookworm base image. It ships s6-overlay v3 as /init (hence
# "init": false in config.json) and bash. The Supervisor passes build.yaml's base image for the
# machine's arch as BUILD_FROM (ghcr.io/home-assistant/<arch>-base-debian:bookworm); the default
# here, one multi-arch name of the same release, serves builds that pass none. The packaging tests
# keep the two on the same Debian release, whose package names the lists below use.
ARG BUILD_FROM=ghcr.io/home-assistant/base-debian:bookworm

# The build and runtime packages (Debian bookworm names). The build list is that of
# scripts/install-deps.sh minus what only the tests and the benchmark need.
ARG BUILD_PACKAGES="build-essential cmake pkg-config \
  libboost-dev libboost-system-dev libssl-dev libjsoncpp-dev"
ARG RUNTIME_PACKAGES="libssl3 libjsoncpp25 ca-certificates"
# scripts/build.sh's configure and build commands (those of the README), without the tests and
# the benchmark, which the image does not hold.
ARG CMAKE_CONFIGURE_FLAGS="-DCMAKE_BUILD_TYPE=Release \
  -DMQTT_BROKER_TESTS=OFF -DMQTT_BROKER_BENCH=OFF"

# --- build stage: compile the broker --------------------------------------------------------------
FROM ${BUILD_FROM} AS build
ARG BUILD_PACKAGES
ARG CMAKE_CONFIGURE_FLAGS
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The package list is meant to split into words; versions come with the base image's release.
# hadolint ignore=DL3008,SC2086
RUN apt-get update \
  && apt-get install -y --no-install-recommends ${BUILD_PACKAGES} \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /usr/src/mqtt-broker
COPY CMakeLists.txt ./
COPY src/ src/
# hadolint ignore=SC2086
RUN cmake -S . -B build ${CMAKE_CONFIGURE_FLAGS} \
  && cmake --build build -j"$(nproc)" --target mqtt-broker

# --- final stage: the binary, its runtime libraries, the s6 service -------------------------------
FROM ${BUILD_FROM}
ARG RUNTIME_PACKAGES
ARG BUILD_VERSION=0.1.0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# hadolint ignore=DL3008,SC2086
RUN apt-get update \
  && apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
  && rm -rf /var/lib/apt/lists/*

COPY --from=build /usr/src/mqtt-broker/build/mqtt-broker /usr/bin/mqtt-broker
COPY rootfs/ /

# On stop, s6 sends SIGTERM and waits this long (ms) before SIGKILL: the broker saves sessions and
# retained messages and withdraws its service. It stays under the Supervisor's 10 s stop timeout.
ENV S6_SERVICES_GRACETIME=7000

# Healthy while the MQTT port accepts connections; the Supervisor's watchdog acts on "unhealthy".
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/usr/libexec/mqtt-broker/healthcheck"]

LABEL \
  io.hass.name="MQTT broker" \
  io.hass.description="A fast MQTT broker with access control and durable storage" \
  io.hass.type="addon" \
  io.hass.version="${BUILD_VERSION}"
