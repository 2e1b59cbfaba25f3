#!/bin/sh
# The chaos test's long form: at least 200 SIGKILLs of the controller (and random worker and
# trial kills) during one sweep, then the checks of tests/chaos/chaos.py; prints its counts.
# At least half the trials must complete (a killed trial process fails its trial; attempts
# lost to controller restarts are not charged to max_retries).
# Usage: nice -n 19 bench/run_chaos.sh [SWEEP_BINARY] [CONTROLLER_KILLS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sweep=${1:-$here/../build/cli/sweep}
kills=${2:-200}
exec python3 "$here/../tests/chaos/chaos.py" --sweep "$sweep" --controller-kills "$kills" \
  --trials 24 --steps 20 --min-run 0.3 --max-run 3 --finish-timeout 300 --min-completed 12
