#!/usr/bin/env bash
# Fails (exit 1, printing each offending `file:line include`) when the layout rules break:
#   folder      may include (besides its own headers and third-party ones)
#   core        nothing
#   spec        core                 samplers, policies, store, worker: core
#   workspace   core spec store      compute: core workspace
#   controller  core spec samplers policies store workspace + compute/node_provider.h
#   rpc         controller worker proto, and what those may include
#   cli         anything but generated protobuf
#   - generated protobuf (proto/*.pb.h) only in rpc/, tests/unit/rpc/, tests/integration/;
#     tests/ and bench/ are otherwise exempt;
#   - <folder>/CMakeLists.txt links sweep_<folder> only to the sweep_* libraries of the
#     folders above (controller: no sweep_compute).
# The rules live in check_layout.py (DIRECT), which describes the check in its header.
set -euo pipefail
exec python3 "$(dirname "$0")/check_layout.py" deps "$(dirname "$0")/.."
