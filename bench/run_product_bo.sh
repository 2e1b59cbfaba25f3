#!/usr/bin/env bash
# Runs the Bayesian sampler end to end through the product: `sweep run` on
# bench/product_bo/spec.yml (Branin, 30 trials, 2 at a time, on the workspace's embedded
# local cluster), then `sweep best --json`, and prints the best value, the simple regret
# against Branin's minimum and the wall time.
#
#   bench/run_product_bo.sh [SWEEP_BINARY] [WORKSPACE_DIR]
#
# SWEEP_BINARY defaults to $SWEEP or ./build/cli/sweep; WORKSPACE_DIR to a fresh temp dir
# (removed afterwards unless given).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
sweep="${1:-${SWEEP:-$root/build/cli/sweep}}"
if [[ ! -x "$sweep" ]]; then
  echo "run_product_bo: no sweep binary at '$sweep' (build it, or pass its path)" >&2
  exit 2
fi
if [[ -n "${2:-}" ]]; then
  workspace="$2"
else
  workspace="$(mktemp -d)"
  trap 'rm -rf "$workspace"' EXIT
fi
readonly branin_min=0.397887357729739

start=$(date +%s.%N)
# -q prints the sweep id first, then the summary.
run_output="$("$sweep" --workspace "$workspace" run "$here/product_bo/spec.yml" -q)"
end=$(date +%s.%N)
sweep_id="$(printf '%s\n' "$run_output" | head -n1 | tr -d '[:space:]')"
if [[ -z "$sweep_id" ]]; then
  echo "run_product_bo: 'sweep run' printed no sweep id:" >&2
  printf '%s\n' "$run_output" >&2
  exit 1
fi
best_json="$("$sweep" --workspace "$workspace" best "$sweep_id" --json)"
python3 - "$best_json" "$branin_min" "$start" "$end" <<'PY'
import json, sys
best = json.loads(sys.argv[1])
value, minimum = float(best["final_value"]), float(sys.argv[2])
seconds = float(sys.argv[4]) - float(sys.argv[3])
print(f"sweep {best['sweep_id']}: best trial {best['trial_id']} value={value:.6g} "
      f"params={json.dumps(best['params'])}")
print(f"simple regret {value - minimum:.4g} (Branin minimum {minimum}); "
      f"30 trials in {seconds:.1f} s wall")
PY
