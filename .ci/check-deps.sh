#!/usr/bin/env bash
# The layout check. Fails (exit 1, printing each offence as `file:line ...`) when the
# dependency rules break (.ci/check-size.sh alone checks only the size limits):
#   folder      may include (besides its own headers and third-party ones)
#   core        nothing
#   spec        core                 samplers, policies, store, worker: core
#   report      core policies
#   workspace   core spec store      compute: core workspace
#   controller  core spec samplers policies store workspace + compute/node_provider.h
#   rpc         controller worker proto, and what those may include
#   cli         anything but generated protobuf
#   - generated protobuf (proto/*.pb.h) only in rpc/, tests/unit/rpc/, tests/integration/;
#     tests/ and bench/ are otherwise exempt;
#   - <folder>/CMakeLists.txt links sweep_<folder> only to the sweep_* libraries of the
#     folders above (controller: no sweep_compute);
# and when the size limits break: a hand-written C++ file over 800 lines or a function
# over 150 lines (known offenders in .ci/size-exceptions.txt are warnings).
# The rules live in check_layout.py (DIRECT), which describes the checks in its header.
set -euo pipefail
exec python3 "$(dirname "$0")/check_layout.py" all "$(dirname "$0")/.."
