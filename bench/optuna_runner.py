"""Runs Optuna on the bo_bench functions and prints JSON for bench/bo_bench.

usage: /usr/bin/python3 optuna_runner.py FUNCTION SAMPLER SEEDS TRIALS
  FUNCTION  branin | hartmann6 | rosenbrock4 | ackley5 | levy5
  SAMPLER   tpe (TPESampler(multivariate=True)) | random (RandomSampler)
  SEEDS     comma-separated integers
  TRIALS    trials per seed

Output: {"function", "sampler", "optuna_version", "runs": [{"seed", "values",
"suggest_seconds", "suggest_cpu_seconds"}]} where suggest_seconds[i] is the wall time
spent in ask() and the suggest_float() calls of trial i (the sampler's work, not the
objective's) and suggest_cpu_seconds[i] the thread CPU time of the same.
Exit 3 with a message on stderr when optuna cannot be imported.
"""
import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "product_bo"))
from bo_functions import FUNCTIONS  # noqa: E402


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    name, sampler_name, seeds, trials = argv[1], argv[2], argv[3], int(argv[4])
    if name not in FUNCTIONS:
        sys.stderr.write(f"unknown function {name!r}; one of {sorted(FUNCTIONS)}\n")
        return 2
    try:
        import optuna
    except ImportError as e:
        sys.stderr.write(f"optuna is not importable by {sys.executable}: {e}\n")
        return 3
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    bounds, f, _ = FUNCTIONS[name]
    runs = []
    for seed in [int(s) for s in seeds.split(",") if s]:
        if sampler_name == "tpe":
            sampler = optuna.samplers.TPESampler(multivariate=True, seed=seed)
        elif sampler_name == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sys.stderr.write(f"unknown sampler {sampler_name!r}; tpe or random\n")
            return 2
        study = optuna.create_study(direction="minimize", sampler=sampler)
        values, seconds, cpu_seconds = [], [], []
        for _ in range(trials):
            start, cpu_start = time.perf_counter(), time.thread_time()
            trial = study.ask()
            x = [trial.suggest_float(f"x{i + 1}", lo, hi) for i, (lo, hi) in enumerate(bounds)]
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.thread_time() - cpu_start)
            value = f(x)
            study.tell(trial, value)
            values.append(value)
        runs.append({"seed": seed, "values": values, "suggest_seconds": seconds,
                     "suggest_cpu_seconds": cpu_seconds})
    json.dump({"function": name, "sampler": sampler_name, "optuna_version": optuna.__version__,
               "runs": runs}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
