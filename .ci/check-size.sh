#!/usr/bin/env bash
# Fails (exit 1) when a hand-written C++ file is over 800 lines or a function over 150
# lines, except the known offenders of .ci/size-exceptions.txt (printed as warnings). The
# scanner and its limits are described at the top of check_layout.py.
set -euo pipefail
exec python3 "$(dirname "$0")/check_layout.py" size "$(dirname "$0")/.."
