#!/usr/bin/env bash
# Installs every Debian package Sweep needs to build, test and benchmark.
# Nothing is downloaded from anywhere but Debian's archive. The -dev packages of gRPC,
# protobuf, Abseil, RE2 and c-ares also hold the static archives the `sweep` binary links
# (SWEEP_STATIC_LINK, docs/development.md).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config git ca-certificates \
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  libre2-dev libc-ares-dev \
  libabsl-dev libsqlite3-dev sqlite3 libspdlog-dev libfmt-dev libeigen3-dev \
  libboost-dev libboost-math-dev libboost-random-dev libyaml-cpp-dev libcli11-dev libssl-dev \
  nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev libssh-dev openssh-server \
  python3 python3-numpy python3-sklearn python3-optuna \
  slurm-wlm munge chromium tmux clang
# Node.js and npm, for the test that drives the MLflow endpoint with the npm registry's
# `mlflow` client (tests/e2e/mlflow_test.cc). A Node.js that ships its own npm (NodeSource's
# conflicts with Debian's npm package) is kept as it is.
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
