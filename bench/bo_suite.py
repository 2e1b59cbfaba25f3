"""bo_suite: Sweep's Bayesian sampler against Optuna on a broad suite, in one run.

Problems (bench/bo_suite_problems.py): standard functions of 2-16 dimensions, mixed
spaces (integers, categoricals, nested choices, log-scaled parameters) and real
model-fitting tasks on scikit-learn's bundled datasets; some are held out (only for the
final report: --set heldout or all). Samplers: Sweep's GP (`gp`, through
build/bench/suggest_server, so it sees exactly what `sweep run` would), Optuna's
TPESampler(multivariate=True, group=True) (`tpe`; constant_liar=True when trials run
concurrently) and RandomSampler (`random`). Each runs every seed for the largest budget;
smaller budgets are read from the same run (creation order), both sequentially (`seq`)
and with 4 trials in flight (`c4`: the oldest of 4 running trials completes, then the
next is asked for, so every suggestion sees 3 pending trials).

Regret: best value among the first B trials minus the problem's minimum (for real tasks,
the best value any run has ever seen, kept in the cache). On a noisy problem (a problem's
`noise`: every value a sampler is told has Gaussian noise added, drawn per seed and trial
number, so every sampler sees the same draws) it is the noiseless value of the trial with
the best noisy value among the first B, the trial `sweep best` would pick.
Per problem the table shows the median and mean regret of each sampler and the ratios
gp/tpe; overall, the geometric mean of the ratios (all problems, per group, and per set:
tune / heldout). Regrets are floored at 1e-6 of the random search's median regret at the
smallest budget (TPE's where random was not run) so that two exact hits compare as equal.
Suggestion time is the sampler's CPU time per suggestion (thread time), median and p99.

Caches (in --cache-dir, by default build/bench/bo_suite_cache): Optuna runs per (problem,
sampler, mode, seed, trials); GP runs per (behaviour fingerprint, mode, ...), where the
fingerprint hashes the suggestions the server (with --gp-options) makes on a fixed probe
in that mode (Branin for 60 trials, a mixed nested space for 25 and Shubert's rugged 2-D
function for 30, with deterministic objectives), kept per binary hash in
fingerprints.json: a rebuild that suggests the same reuses the runs, a change in behaviour
(in that mode) reruns them. The probe cannot see every change (one that only shows on
other spaces, or after trial 60, needs --rerun-gp). Runs made with --gp-options are also
keyed by those options, since an option that changes only late or rare suggestions leaves
the probe as it is (and would otherwise reuse the default's runs); an option whose meaning
a rebuild changes keeps its key, so its old runs must be removed (or --rerun-gp). Also
cached: the evaluations of real tasks per config and the real tasks' best values.

usage: nice -n 19 /usr/bin/python3 bench/bo_suite.py [--set tune|heldout|all]
         [--problems a,b] [--seeds 20] [--budgets 50,100] [--modes seq,c4]
         [--samplers gp,tpe,random] [--json FILE] [--markdown FILE] [--compact FILE]
         [--cached-only]  (tables from the cache alone, e.g. after runs split over processes)
         [--versus JSON]  (a GP variant beside the default, compared seed by seed)
"""
import argparse
import collections
import hashlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bo_suite_problems  # noqa: E402

MODES = {"seq": 1, "c4": 4}
PROBLEM_VERSION = 1  # bump when an objective changes, to invalidate cached runs


# ---- samplers ----

class SweepServer:
    """build/bench/suggest_server over pipes."""

    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)

    def call(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"suggest_server: {reply['error']} (request {request})")
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def optuna_params(trial, space, params):
    """Suggests every parameter of a Sweep search space through an Optuna trial."""
    for name, spec in space.items():
        kind = spec["type"]
        lo, hi = spec.get("min_value"), spec.get("max_value")
        if kind == "uniform":
            params[name] = trial.suggest_float(name, lo, hi)
        elif kind == "loguniform":
            params[name] = trial.suggest_float(name, math.exp(lo), math.exp(hi), log=True)
        elif kind == "quniform":
            params[name] = trial.suggest_float(name, lo, hi, step=spec["q"])
        elif kind == "qloguniform" and spec["q"] == 1:
            params[name] = trial.suggest_int(name, round(math.exp(lo)), round(math.exp(hi)),
                                             log=True)
        elif kind == "randint":
            params[name] = trial.suggest_int(name, 0, spec["upper"] - 1)
        elif kind == "choice" and any(isinstance(v, dict) for v in spec["values"]):
            index = trial.suggest_categorical(name, list(range(len(spec["values"]))))
            params[name] = index
            branch = spec["values"][index]
            constants = {k: v for k, v in branch.items() if not isinstance(v, dict)}
            params.update(constants)
            optuna_params(trial, {k: v for k, v in branch.items() if isinstance(v, dict)},
                          params)
        elif kind == "choice":
            params[name] = trial.suggest_categorical(name, spec["values"])
        else:
            raise ValueError(f"{name}: no Optuna equivalent for {spec}")
    return params


class Evaluator:
    """Objective values, cached per config for real tasks (they take a model fit)."""

    def __init__(self, problem, cache_dir):
        self.problem = problem
        self.path = None
        self.memo = {}
        if problem.group == "real":
            self.path = os.path.join(cache_dir, f"evals-{problem.name}.jsonl")
            if os.path.exists(self.path):
                with open(self.path) as f:
                    for line in f:
                        key, value = json.loads(line)
                        self.memo[key] = value

    def __call__(self, params):
        if self.path is None:
            return float(self.problem.objective(params))
        key = json.dumps(params, sort_keys=True)
        if key not in self.memo:
            self.memo[key] = float(self.problem.objective(params))
            with open(self.path, "a") as f:
                f.write(json.dumps([key, self.memo[key]]) + "\n")
        return self.memo[key]


def noise_draws(problem, seed, trials):
    """The noise added to trial i's value on a noisy problem (None when noiseless): a
    function of the problem, seed and trial number only, so every sampler sees the same."""
    if not problem.noise:
        return None
    return [random.Random(f"{problem.name}/{seed}/{i}").gauss(0.0, problem.noise)
            for i in range(trials)]


def drive(ask, tell, evaluate, trials, concurrency, noise=None):
    """Runs `trials` trials with up to `concurrency` in flight (oldest completes first).
    With `noise` (noise_draws), trial i is told its value plus noise[i]: "values" holds
    what was told, "true" the noiseless values."""
    values, true, seconds = [None] * trials, [None] * trials, []
    running = collections.deque()
    created = 0
    while created < trials or running:
        while created < trials and len(running) < concurrency:
            handle, params, cpu = ask()
            seconds.append(cpu)
            running.append((created, handle, params))
            created += 1
        index, handle, params = running.popleft()
        true[index] = evaluate(params)
        values[index] = true[index] + (noise[index] if noise else 0.0)
        tell(handle, values[index])
    result = {"values": values, "cpu_seconds": seconds}
    if noise:
        result["true"] = true
    return result


def run_gp(server, problem, evaluate, seed, trials, concurrency, gp_options):
    server.call({"cmd": "start", "space": problem.space, "algorithm": "bayesian", "seed": seed,
                 "gp_options": gp_options})

    def ask():
        reply = server.call({"cmd": "ask"})
        if reply.get("exhausted"):
            raise RuntimeError(f"{problem.name}: the GP ran out of configurations")
        return reply["trial"], reply["config"], reply["cpu_seconds"]

    def tell(handle, value):
        server.call({"cmd": "tell", "trial": handle, "value": value})

    return drive(ask, tell, evaluate, trials, concurrency, noise_draws(problem, seed, trials))


def run_optuna(kind, problem, evaluate, seed, trials, concurrency):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if kind == "tpe":
        sampler = optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed,
                                             constant_liar=concurrency > 1)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)

    def ask():
        start = time.thread_time()
        trial = study.ask()
        params = optuna_params(trial, problem.space, {})
        return trial, params, time.thread_time() - start

    def tell(trial, value):
        study.tell(trial, value)

    return drive(ask, tell, evaluate, trials, concurrency, noise_draws(problem, seed, trials))


# ---- runs and caches ----

def write_json(path, doc, **dump_args):
    """Replaces `path` atomically, through a temporary file of this process's own: several
    processes may share the cache."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, **dump_args)
    os.replace(tmp, path)


def problem_hash(problem):
    key = [problem.space, PROBLEM_VERSION] + ([problem.noise] if problem.noise else [])
    text = json.dumps(key, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def file_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


class Runner:
    def __init__(self, args):
        self.args = args
        self.cache_dir = args.cache_dir
        os.makedirs(os.path.join(self.cache_dir, "runs"), exist_ok=True)
        # Hashed when a GP run is first needed, so Optuna-only runs need no build.
        self.server_hash = None
        self.server = None
        self.optuna_version = None
        self.options_json = json.dumps(args.gp_options, sort_keys=True)

    def gp_server(self):
        if self.server is None:
            self.server = SweepServer(self.args.server)
        return self.server

    def fingerprint(self, mode):
        """The hash of the GP's suggestions on the probe (module docstring), per mode."""
        if self.server_hash is None:
            self.server_hash = file_hash(self.args.server)
        key = f"{self.server_hash}-{mode}-{self.options_json}"
        path = os.path.join(self.cache_dir, "fingerprints.json")
        known = {}
        if os.path.exists(path):
            with open(path) as f:
                known = json.load(f)
        if key not in known:
            digest = hashlib.sha256()
            for problem, trials in bo_suite_problems.probe_problems():
                result = run_gp(self.gp_server(), problem, Evaluator(problem, self.cache_dir), 0,
                                trials, MODES[mode], self.args.gp_options)
                digest.update(json.dumps(result["values"]).encode())
            value = digest.hexdigest()[:12]
            # Several processes may share the cache: merge with what is on disk now.
            if os.path.exists(path):
                with open(path) as f:
                    known = json.load(f)
            known[key] = value
            write_json(path, known, indent=1, sort_keys=True)
        return known[key]

    def path(self, problem, sampler, mode, seed, trials):
        if sampler == "gp":
            tag = f"gp-{self.fingerprint(mode)}"
            if self.args.gp_options:
                tag += "-o" + hashlib.sha256(self.options_json.encode()).hexdigest()[:8]
        else:
            if self.optuna_version is None:
                import optuna
                self.optuna_version = optuna.__version__
            tag = f"optuna{self.optuna_version}-{sampler}"
        return os.path.join(self.cache_dir, "runs", problem.name + "-" + problem_hash(problem),
                            f"{tag}-{mode}-s{seed}-t{trials}.json")

    def cached(self, problem, sampler, mode, seed, trials):
        return os.path.exists(self.path(problem, sampler, mode, seed, trials))

    def run(self, problem, sampler, mode, seed, trials):
        path = self.path(problem, sampler, mode, seed, trials)
        if os.path.exists(path) and not (sampler == "gp" and self.args.rerun_gp):
            with open(path) as f:
                return json.load(f)
        evaluate = Evaluator(problem, self.cache_dir)
        if sampler == "gp":
            result = run_gp(self.gp_server(), problem, evaluate, seed, trials, MODES[mode],
                            self.args.gp_options)
        else:
            result = run_optuna(sampler, problem, evaluate, seed, trials, MODES[mode])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json(path, result)
        return result


def load_references(cache_dir):
    path = os.path.join(cache_dir, "reference.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save_references(cache_dir, refs):
    """Writes the best values seen, merged with what another process sharing the cache
    may have written since this one loaded them (the lower value wins)."""
    path = os.path.join(cache_dir, "reference.json")
    merged = load_references(cache_dir)
    for name, value in refs.items():
        merged[name] = min(merged.get(name, value), value)
    write_json(path, merged, indent=1, sort_keys=True)


# ---- statistics ----

def percentile(values, q):
    v = sorted(values)
    rank = min(len(v), max(1, math.ceil(q * len(v))))
    return v[rank - 1]


def geomean(values):
    values = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not values:
        return float("nan")
    return math.exp(sum(math.log(v) for v in values) / len(values))


def best_true(run, budget):
    """The noiseless value of the best of the first `budget` trials (module docstring)."""
    values = run["values"][:budget]
    if "true" not in run:
        return min(values)
    return run["true"][values.index(min(values))]


def summarise(problem, runs, budgets, minimum):
    """runs[sampler][seed] -> {budget: {sampler: {median, mean, regrets}}}."""
    out = {}
    for budget in budgets:
        out[budget] = {}
        for sampler, by_seed in runs.items():
            regrets = [best_true(r, budget) - minimum for r in by_seed]
            out[budget][sampler] = {"median": statistics.median(regrets),
                                    "mean": statistics.fmean(regrets), "regrets": regrets}
    return out


def ratio(ours, theirs, floor):
    return max(ours, floor) / max(theirs, floor)


def ratio_floor(summary, budgets):
    """The floor of regrets in ratios (module docstring): 1e-6 of random's median regret at
    the smallest budget, TPE's where random was not run."""
    first = summary[min(budgets)]
    floor_base = first.get("random", first.get("tpe", {})).get("median", 0.0)
    return max(1e-6 * floor_base, 1e-12)


def behind(median_ratio):
    """Issue 16's per-problem target is missed: the GP's median regret above TPE's."""
    return median_ratio > 1.0 + 1e-9


def md_row(cells):
    return "| " + " | ".join(cells) + " |\n"


def md_head(cells):
    """A markdown table's header row and its separator."""
    return md_row(cells) + "|" + "---|" * len(cells) + "\n"


def fmt(v, spec=".3g"):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def report(results, args, out):
    """Prints the tables; returns the summary document."""
    doc = {"problems": {}, "overall": {}, "targets": []}
    ratios = collections.defaultdict(list)  # (mode, budget, group, stat) -> ratios
    for name, res in results.items():
        problem = res["problem"]
        doc["problems"][name] = {"group": problem.group, "held_out": problem.held_out,
                                 "minimum": res["minimum"], "modes": {}}
        for mode, summary in res["summary"].items():
            entry = doc["problems"][name]["modes"][mode] = {}
            floor = ratio_floor(summary, args.budgets)
            for budget, stats in summary.items():
                row = {s: {"median": v["median"], "mean": v["mean"]} for s, v in stats.items()}
                if "gp" in stats and "tpe" in stats:
                    row["median_ratio"] = ratio(stats["gp"]["median"], stats["tpe"]["median"], floor)
                    row["mean_ratio"] = ratio(stats["gp"]["mean"], stats["tpe"]["mean"], floor)
                    subset = "heldout" if problem.held_out else "tune"
                    for group in (problem.group, subset, "all"):
                        ratios[(mode, budget, group, "median")].append(row["median_ratio"])
                        ratios[(mode, budget, group, "mean")].append(row["mean_ratio"])
                    doc["targets"].append({
                        "what": f"{name} {mode} @{budget}: GP median regret <= TPE",
                        "met": not behind(row["median_ratio"]),
                        "detail": f"{fmt(stats['gp']['median'])} vs {fmt(stats['tpe']['median'])}"})
                entry[str(budget)] = row
            times = {s: res["times"][mode][s] for s in res["times"][mode]}
            entry["cpu_ms"] = {s: {"median": 1e3 * statistics.median(t),
                                   "p99": 1e3 * percentile(t, 0.99)} for s, t in times.items()}
    for (mode, budget, group, stat), values in sorted(ratios.items()):
        doc["overall"].setdefault(mode, {}).setdefault(str(budget), {}).setdefault(
            group, {})[stat] = geomean(values)
    for mode, by_budget in doc["overall"].items():
        for budget, groups in by_budget.items():
            g = groups.get("all", {}).get("median")
            if g is not None:
                doc["targets"].append({"what": f"overall {mode} @{budget}: geometric mean of "
                                               "median ratios GP/TPE <= 0.5",
                                       "met": g <= 0.5, "detail": fmt(g)})
    print_tables(doc, args, out)
    return doc


def print_tables(doc, args, out):
    samplers = [s for s in ("gp", "tpe", "random") if s in args.samplers]
    for mode in args.modes:
        out.write(f"\n## Mode {mode} ({MODES[mode]} trial(s) in flight), {args.seeds} seeds\n\n")
        head = ["problem", "group", "budget"]
        for s in samplers:
            head += [f"{s} median", f"{s} mean"]
        head += ["median gp/tpe", "mean gp/tpe"]
        out.write(md_head(head))
        for name, p in doc["problems"].items():
            if mode not in p["modes"]:
                continue
            for budget in args.budgets:
                row = p["modes"][mode][str(budget)]
                cells = [name + (" (held out)" if p["held_out"] else ""), p["group"],
                         str(budget)]
                for s in samplers:
                    cells += [fmt(row[s]["median"]), fmt(row[s]["mean"])] if s in row else ["-"] * 2
                cells += [fmt(row.get("median_ratio")), fmt(row.get("mean_ratio"))]
                out.write(md_row(cells))
        out.write("\nGeometric mean of the gp/tpe ratios (median; mean):\n\n")
        for budget, groups in doc["overall"].get(mode, {}).items():
            parts = [f"{g}: {fmt(v.get('median'))}; {fmt(v.get('mean'))}"
                     for g, v in sorted(groups.items())]
            out.write(f"- {budget} trials: " + ", ".join(parts) + "\n")
        out.write("\nSuggestion CPU time, ms (median / p99 over all suggestions of all seeds):\n\n")
        out.write(md_head(["problem"] + samplers))
        for name, p in doc["problems"].items():
            if mode not in p["modes"]:
                continue
            t = p["modes"][mode]["cpu_ms"]
            out.write(md_row([name] + [
                f"{fmt(t[s]['median'])} / {fmt(t[s]['p99'])}" if s in t else "-"
                for s in samplers]))
    missed = [t for t in doc["targets"] if not t["met"]]
    out.write(f"\nTargets: {len(doc['targets']) - len(missed)} of {len(doc['targets'])} met\n")
    for t in missed:
        out.write(f"- MISS {t['what']}: {t['detail']}\n")


def compact_table(doc, args, out):
    """One row per problem, one column per (mode, budget): GP / TPE median regret (median
    ratio; mean ratio), **behind** where the median ratio is above 1 (docs/bo-suite.md)."""
    cols = [(m, b) for m in args.modes for b in args.budgets]
    out.write(md_head(["problem", "group"] + [f"{m} @{b}" for m, b in cols]))
    for name, p in doc["problems"].items():
        cells = [name + (" (held out)" if p["held_out"] else ""), p["group"]]
        for m, b in cols:
            row = p["modes"].get(m, {}).get(str(b))
            if row is None or "median_ratio" not in row:
                cells.append("not run")
                continue
            cell = (f"{fmt(row['gp']['median'])} / {fmt(row['tpe']['median'])} "
                    f"({fmt(row['median_ratio'])}; {fmt(row['mean_ratio'])})")
            cells.append(cell + (" **behind**" if behind(row["median_ratio"]) else ""))
        out.write(md_row(cells))


def versus_table(results, args, out):
    """--versus: per problem, mode and budget the median regret of the GP, the variant and
    TPE (GP/TPE ratio, GP -> variant; **bold** above 1, behind TPE) and the geometric mean
    over its cells of the variant/GP median ratio (one problem's loss); per mode and budget,
    over the problems: cells behind TPE, seeds where the variant's regret is lower / higher
    than the GP's, and the geometric mean of the ratios; then those seeds pooled per budget
    and over every cell, with a one-sided sign test."""
    out.write(f"\n## The GP against the variant {json.dumps(args.versus, sort_keys=True)}, "
              f"{args.seeds} seeds: GP / variant / TPE median regret (GP/TPE ratio, "
              "GP -> variant)\n\n")
    cols = [(m, b) for m in args.modes for b in args.budgets]
    heads = [f"{m} @{b}" for m, b in cols]
    out.write(md_head(["problem"] + heads + ["variant/GP"]))
    totals = {c: {"behind": [0, 0], "better": 0, "worse": 0, "ratios": ([], [])} for c in cols}
    bold = lambda r: f"**{r:.2f}**" if behind(r) else f"{r:.2f}"
    for name, res in results.items():
        cells, own = [name], []
        for m, b in cols:
            summary = res["summary"].get(m, {})
            stats = summary.get(b, {})
            if not all(k in stats for k in ("gp", "variant", "tpe")):
                cells.append("not run")
                continue
            gp, var, tpe = (stats[k]["median"] for k in ("gp", "variant", "tpe"))
            floor = ratio_floor(summary, args.budgets)
            r_gp, r_var = ratio(gp, tpe, floor), ratio(var, tpe, floor)
            t = totals[(m, b)]
            for i, r in enumerate((r_gp, r_var)):
                t["behind"][i] += behind(r)
                t["ratios"][i].append(r)
            pairs = list(zip(stats["variant"]["regrets"], stats["gp"]["regrets"]))
            t["better"] += sum(v < g for v, g in pairs)
            t["worse"] += sum(v > g for v, g in pairs)
            own.append(ratio(var, gp, floor))
            cells.append(f"{fmt(gp)} / {fmt(var)} / {fmt(tpe)} ({bold(r_gp)} -> {bold(r_var)})")
        out.write(md_row(cells + [f"{geomean(own):.2f}"]))
    out.write("\n" + md_head(["over the problems"] + heads))
    out.write(md_row(["cells behind TPE, GP -> variant"] + [
        f"{totals[c]['behind'][0]} -> {totals[c]['behind'][1]}" for c in cols]))
    out.write(md_row(["seeds the variant does better / worse"] + [
        f"{totals[c]['better']} / {totals[c]['worse']}" for c in cols]))
    out.write(md_row(["geometric mean of the ratios, GP -> variant"] + [
        f"{fmt(geomean(totals[c]['ratios'][0]))} -> {fmt(geomean(totals[c]['ratios'][1]))}"
        for c in cols]))
    out.write("\nSeeds the variant does better / worse, pooled over the problems and modes "
              "(one-sided sign test: the chance of as many better or more if neither were "
              "better):\n\n")
    groups = [(f"at {b} trials", [c for c in cols if c[1] == b]) for b in args.budgets]
    for label, group in groups + [("every cell", cols)]:
        better = sum(totals[c]["better"] for c in group)
        worse = sum(totals[c]["worse"] for c in group)
        out.write(f"- {label}: {better} / {worse}, p = {sign_test(better, worse):.3g}\n")


def sign_test(better, worse):
    """P(at least `better` heads in better + worse fair coin flips); ties are left out."""
    n = better + worse
    return sum(math.comb(n, k) for k in range(better, n + 1)) / 2 ** n


# ---- main ----

def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    build = os.path.join(os.path.dirname(HERE), "build")
    parser.add_argument("--set", choices=["tune", "heldout", "all"], default="tune")
    parser.add_argument("--problems", default="", help="comma-separated names (overrides --set)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budgets", default="50,100")
    parser.add_argument("--modes", default="seq,c4")
    parser.add_argument("--samplers", default="gp,tpe,random")
    parser.add_argument("--server", default=os.path.join(build, "bench", "suggest_server"))
    parser.add_argument("--cache-dir", default=os.path.join(build, "bench", "bo_suite_cache"))
    parser.add_argument("--rerun-gp", action="store_true", help="ignore cached GP runs")
    parser.add_argument("--cached-only", action="store_true",
                        help="run nothing: report the cached runs only (a sampler missing a "
                             "seed is left out for that problem and mode; without GP or TPE "
                             "the problem and mode are not run)")
    parser.add_argument("--gp-options", type=json.loads, default={},
                        help='GpSamplerOptions fields as JSON, for experiments: {"additive": false}')
    parser.add_argument("--versus", type=json.loads, default=None,
                        help="GpSamplerOptions of a variant run beside the GP (these alone, not "
                             "merged with --gp-options; cached under them), compared with it "
                             "per seed: docs/bo-suite.md's A/B tables")
    parser.add_argument("--json", help="write the summary and per-seed regrets here")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--compact", help="write the one-row-per-problem table to this file")
    args = parser.parse_args(argv[1:])
    args.budgets = sorted(int(b) for b in args.budgets.split(","))
    args.modes = [m for m in args.modes.split(",") if m]
    args.samplers = [s for s in args.samplers.split(",") if s]
    for m in args.modes:
        if m not in MODES:
            parser.error(f"unknown mode {m}; one of {sorted(MODES)}")
    problems = bo_suite_problems.all_problems()
    if args.problems:
        names = args.problems.split(",")
        unknown = [n for n in names if n not in problems]
        if unknown:
            parser.error(f"unknown problems {unknown}; known: {sorted(problems)}")
    else:
        names = [n for n, p in problems.items()
                 if args.set == "all" or p.held_out == (args.set == "heldout")]
    if args.versus is not None and ("gp" not in args.samplers or "tpe" not in args.samplers):
        parser.error("--versus compares the variant with gp against tpe: give both samplers")
    if args.versus == {}:
        parser.error("--versus needs at least one GpSamplerOptions field: {} is the GP itself")
    runner = Runner(args)
    variant = Runner(argparse.Namespace(**{**vars(args), "gp_options": args.versus})) \
        if args.versus is not None else None
    refs = load_references(args.cache_dir)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = {}
    trials = max(args.budgets)
    for name in names:
        problem = problems[name]
        res = results[name] = {"problem": problem, "summary": {}, "times": {}, "runs": {}}
        for mode in args.modes:
            runs = {}
            plan = [(s, s, runner) for s in args.samplers]
            if variant is not None:
                plan.append(("variant", "gp", variant))
            for label, sampler, source in plan:
                if args.cached_only and not all(
                        source.cached(problem, sampler, mode, s, trials) for s in seeds):
                    sys.stderr.write(f"[bo_suite] {name} {mode} {label}: not all seeds "
                                     "cached; left out\n")
                    continue
                start = time.time()
                runs[label] = [source.run(problem, sampler, mode, s, trials) for s in seeds]
                sys.stderr.write(f"[bo_suite] {name} {mode} {label}: "
                                 f"{time.time() - start:.1f} s\n")
            if args.cached_only and not ("gp" in runs and "tpe" in runs):
                continue  # reported as not run
            res["runs"][mode] = runs
            res["times"][mode] = {s: [t for r in rs for t in r["cpu_seconds"]]
                                  for s, rs in runs.items()}
        if not res["runs"]:
            del results[name]
            continue
        if problem.minimum is None:
            seen = min(v for rs in res["runs"].values() for runs in rs.values() for r in runs
                       for v in r["values"])
            refs[name] = min(refs.get(name, seen), seen)
            res["minimum"] = refs[name]
        else:
            res["minimum"] = problem.minimum
        for mode, runs in res["runs"].items():
            res["summary"][mode] = summarise(problem, runs, args.budgets, res["minimum"])
    for r in (runner, variant):
        if r is not None and r.server is not None:
            r.server.close()
    save_references(args.cache_dir, refs)
    doc = report(results, args, sys.stdout)
    if variant is not None:
        versus_table(results, args, sys.stdout)
    if args.markdown:
        with open(args.markdown, "w") as f:
            print_tables(doc, args, f)
    if args.compact:
        with open(args.compact, "w") as f:
            compact_table(doc, args, f)
    if args.json:
        for name, res in results.items():
            for mode, summary in res["summary"].items():
                for budget, stats in summary.items():
                    for s, v in stats.items():
                        doc["problems"][name]["modes"][mode][str(budget)][s]["regrets"] = \
                            v["regrets"]
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
