#!/usr/bin/python3
"""Ingest and scale benchmark for Sweep (issue 12), with its anchors from the same run.

Figures, each printed with its target and anchor:
  ingest   metric points made durable per second from 4 trials streaming at once (each
           prints --points lines of three metrics with awk); every point is checked stored
           once (decoded from sweep.db's packed metric_reports rows). Anchors: SQLite's raw
           batched insert of the same number of rows into a table shaped like schema 8's
           metric_points (a row a point), and Optuna's trial.report into SQLite (Debian's
           python3-optuna
           through /usr/bin/python3; skipped with a message when absent).
  scale    a sweep of --trials tiny real trials (printf, five reports) on --nodes nodes:
           per-trial cost against a 1,000-trial sweep and, within the big sweep, of
           trials 85-95% against trials 5-15% (Sweep's CPU sampled every 50 ms; free of
           the small sweep's start-up noise), the controller's peak RSS
           (/proc/<pid>/status VmHWM), and `sweep best` / `sweep trials --top 10` times on
           that workspace (wall and CPU), beside the same queries by --shared-sweep
           (build/bench/sweep_shared: the program linked to the shared gRPC, protobuf and
           Abseil libraries) when that binary is built.
  samplers suggestion cost against history size (build/bench/sampler_cost_bench).

Usage: /usr/bin/python3 bench/ingest_bench.py [--quick] [--only ingest,scale,samplers]
Run it under `nice -n 19` on a shared machine. Exit status 1 when a target is missed.
Standard library only.
"""

import argparse
import bisect
import collections
import os
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from dispatch_bench import SweepCpu, link_kind  # bench/, next to this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = []  # (figure, value text, target text, anchor text, ok or None)


def record(figure, value, target="", anchor="", ok=None):
    RESULTS.append((figure, value, target, anchor, ok))
    mark = "" if ok is None else ("PASS" if ok else "MISS")
    print(f"  {figure}: {value}  target {target or '-'}  anchor {anchor or '-'}  {mark}",
          flush=True)


def sweep_cmd(args, *rest):
    return [args.sweep, *rest, "--workspace", args.ws]


def run_checked(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return proc


class PeakRss:
    """Polls /proc/<pid>/status VmHWM (the kernel's own peak) until the process exits."""

    def __init__(self, pid):
        self.pid, self.kb = pid, 0
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        path = f"/proc/{self.pid}/status"
        while True:
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.kb = max(self.kb, int(line.split()[1]))
                        if line.startswith("State:") and line.split()[1] == "Z":
                            return
            except (OSError, IndexError, ValueError):
                return
            time.sleep(0.1)


# One `sweep run`: wall and CPU seconds (cpu: it and its children), the controller's peak
# RSS in MB, its own CPU seconds (children excluded) and SweepCpu's samples of the run.
SweepRun = collections.namedtuple("SweepRun", "id wall cpu rss_mb controller_cpu cpu_samples")


def run_sweep(args, spec):
    """Runs `sweep run SPEC -q`; returns its SweepRun."""
    start = time.monotonic()
    proc = subprocess.Popen(sweep_cmd(args, "run", spec, "-q"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    rss = PeakRss(proc.pid)
    samples = []
    follower = SweepCpu(proc.pid, args.sweep, samples)
    _, status, usage = os.wait4(proc.pid, 0)
    follower.finish()
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()
    rss.thread.join(timeout=1)
    if proc.returncode != 0:
        sys.exit(f"sweep run failed ({proc.returncode}):\n{out}\n{err[-4000:]}")
    sweep_id = out.splitlines()[0].strip()
    cpu = usage.ru_utime + usage.ru_stime
    # VmHWM, not wait4's ru_maxrss: that one keeps the high-water mark of the forked copy
    # of this Python process (over 200 MB after the ingest figures), which exec does not
    # reset. ru_maxrss only when the sweep ended before the first poll.
    return SweepRun(sweep_id, wall, cpu, (rss.kb or usage.ru_maxrss) / 1024.0,
                    follower.controller, samples)


def new_workspace(args, name, nodes):
    args.ws = os.path.join(args.tmp, name)
    run_checked(sweep_cmd(args, "compute", "create", "bench", "--max-nodes", str(nodes),
                          "--min-nodes", "0"))


def query(db, sql):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------------- ingest

# A packed metric point of sweep.db (schema 9, docs/architecture.md#metric-points-in-sweepdb):
# timestamp_ms, value, step, interval, attempt, name id.
PACKED_POINT = struct.Struct("<qdqqii")


def stored_points(db, sweep_id):
    """{trial_id: [(name, value), ...]} of the sweep, decoded from its metric_reports rows
    (or read from the `metrics` view of a schema-8 store, for an older --sweep)."""
    out = {}
    if not query(db, "SELECT 1 FROM sqlite_master WHERE name = 'metric_reports'"):
        for trial_id, name, value in query(db, "SELECT trial_id, name, value FROM metrics "
                                               f"WHERE sweep_id = '{sweep_id}'"):
            out.setdefault(trial_id, []).append((name, value))
        return out
    names = dict(query(db, "SELECT id, name FROM metric_names"))
    for trial_id, data in query(db, "SELECT k.trial_id, r.data FROM trial_keys k JOIN "
                                    f"metric_reports r ON r.trial_key = k.id WHERE k.sweep_id "
                                    f"= '{sweep_id}' ORDER BY k.trial_id, r.id"):
        out.setdefault(trial_id, []).extend(
            (names[p[5]], p[1]) for p in PACKED_POINT.iter_unpack(data))
    return out


def sqlite_batched_rate(tmp, n):
    """Rows/s of a batched insert (1,000 rows a transaction) into a table shaped like
    schema 8's metric_points, a row a point (integer trial key and name id), WAL +
    synchronous=NORMAL like Sweep's store. The rows are built before the clock starts."""
    path = os.path.join(tmp, "raw.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE metric_points (trial_key INTEGER NOT NULL, timestamp_ms INTEGER "
                "NOT NULL, seq INTEGER NOT NULL, attempt INTEGER NOT NULL, name_id INTEGER NOT "
                "NULL, value NOT NULL, step INTEGER NOT NULL, interval INTEGER NOT NULL, "
                "PRIMARY KEY (trial_key, timestamp_ms, seq)) WITHOUT ROWID")
    batches = [[(1 + i % 4, i // 4, i, 1, i % 3, i * 0.5, i, 0)
                for i in range(base, min(n, base + 1000))] for base in range(0, n, 1000)]
    start, cpu = time.monotonic(), time.process_time()
    for rows in batches:
        con.execute("BEGIN")
        con.executemany("INSERT INTO metric_points VALUES (?,?,?,?,?,?,?,?)", rows)
        con.execute("COMMIT")
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu
    con.close()
    return n / elapsed, n / cpu


OPTUNA_REPORT = r"""
import sys, time, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
n, url, budget = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
study = optuna.create_study(storage=url)
trial = study.ask()
start = time.monotonic()
done = 0
while done < n and time.monotonic() - start < budget:
    trial.report(done * 0.5, done)
    done += 1
elapsed = time.monotonic() - start
study.tell(trial, 0.0)
print(done, done / elapsed)
"""


def optuna_rate(args, n):
    """(points reported, points/s) of Optuna's trial.report into SQLite, reporting up to n
    points for at most --optuna-seconds (its cost per report grows with the trial's
    reports, so the rate is an upper bound for n points); None when optuna is absent."""
    if subprocess.run([args.python, "-c", "import optuna"], capture_output=True).returncode:
        print(f"  (Optuna skipped: {args.python} has no optuna; install python3-optuna)")
        return None
    url = "sqlite:///" + os.path.join(args.tmp, "optuna.db")
    proc = run_checked([args.python, "-c", OPTUNA_REPORT, str(n), url, str(args.optuna_seconds)])
    done, rate = proc.stdout.strip().splitlines()[-1].split()
    return int(done), float(rate)


def ingest(args):
    lines, trials = args.points, 4
    total = lines * 3 * trials
    print(f"\n== ingest: {trials} trials x {lines:,} lines x 3 metrics = {total:,} points",
          flush=True)
    new_workspace(args, "ingest", trials)
    code = os.path.join(args.tmp, "ingest_code")
    os.makedirs(code, exist_ok=True)
    with open(os.path.join(code, "gen.awk"), "w") as f:
        f.write('BEGIN { for (i = 1; i <= n; i++) print "loss=" i * 0.5 " acc=" i " lr=" i }\n')
    spec = os.path.join(args.tmp, "ingest.yml")
    with open(spec, "w") as f:
        f.write(f"""type: sweep
trial:
  code: {code}
  command: awk -v n={lines} -v x=${{{{search_space.x}}}} -f gen.awk
compute: azureml:bench
sampling_algorithm: grid
search_space:
  x: {{type: choice, values: [1, 2, 3, 4]}}
objective: {{primary_metric: loss, goal: minimize}}
limits: {{max_total_trials: {trials}, max_concurrent_trials: {trials}}}
""")
    run = run_sweep(args, spec)
    sweep_id, wall, cpu = run.id, run.wall, run.cpu
    db = os.path.join(args.ws, "sweep.db")
    points = stored_points(db, sweep_id)
    stored = sum(len(p) for p in points.values())
    per_trial = [(t, len(p), len(set(p))) for t, p in points.items()]
    window = query(db, "SELECT min(started_ms), max(ended_ms), count(*) FROM trials WHERE "
                       f"sweep_id = '{sweep_id}' AND state = 'completed'")[0]
    all_once = (stored == total and len(per_trial) == trials and
                all(n == lines * 3 and d == lines * 3 for _, n, d in per_trial))
    record("points stored", f"{stored:,} of {total:,}", "all, each once", "", all_once)
    durable_s = (window[1] - window[0]) / 1000.0
    rate = total / durable_s if durable_s > 0 else float("inf")
    raw, raw_cpu = sqlite_batched_rate(args.tmp, total)
    opt = optuna_rate(args, total)
    anchor = f"SQLite batched insert (Python) {raw:,.0f}/s (x{rate / raw:.2f})"
    if opt is not None:
        anchor += (f"; Optuna trial.report {opt[1]:,.0f}/s (the first {opt[0]:,} points; "
                   f"x{rate / opt[1]:,.0f})")
    record("points durable per second (first start to last completion)",
           f"{rate:,.0f}/s in {durable_s:.2f} s", ">= 1,000,000/s", anchor, rate >= 1e6)
    record("points per second, whole `sweep run` (incl. start-up)", f"{total / wall:,.0f}/s "
           f"in {wall:.2f} s", "", "")
    # CPU is what a loaded, shared machine cannot take away: every process of the run
    # (controller, workers, awk) against the CPU of the anchor's own inserts.
    record("points per CPU second (controller, workers and trials together)",
           f"{total / cpu:,.0f} ({cpu * 1e6 / total:.2f} us CPU a point)", "",
           f"SQLite batched insert (Python) {raw_cpu:,.0f} per CPU second")
    record("controller CPU a point (the `sweep run` process alone)",
           f"{run.controller_cpu * 1e6 / total:.2f} us", "", "")


# ---------------------------------------------------------------------------- scale

def window_costs(samples, ended_ms, lo, hi):
    """Per trial over the trials that ended between fractions lo and hi of the sweep (in
    end order): (wall ms, Sweep CPU ms: controller and workers, controller CPU ms), the
    CPU interpolated from SweepCpu's samples at the window's two end times."""
    def at(t, k):
        i = bisect.bisect_left(samples, (t,))
        if i == 0 or i == len(samples):
            return samples[min(i, len(samples) - 1)][k]
        (t0, *a), (t1, *b) = samples[i - 1], samples[i]
        return a[k - 1] + (b[k - 1] - a[k - 1]) * (t - t0) / (t1 - t0)
    first, last = int(lo * len(ended_ms)), int(hi * len(ended_ms)) - 1
    t0, t1, count = ended_ms[first] / 1e3, ended_ms[last] / 1e3, last - first
    return tuple(x / count * 1e3 for x in (t1 - t0, at(t1, 1) - at(t0, 1), at(t1, 2) - at(t0, 2)))


def scale_sweep(args, name, trials, nodes):
    new_workspace(args, name, nodes)
    spec = os.path.join(args.tmp, f"{name}.yml")
    with open(spec, "w") as f:
        f.write(f"""type: sweep
trial:
  command: printf "loss=%s\\n" 5 4 3 2 ${{{{search_space.x}}}}
compute: azureml:bench
sampling_algorithm: {{type: random, seed: 1}}
search_space:
  x: {{type: uniform, min_value: 0, max_value: 1}}
objective: {{primary_metric: loss, goal: minimize}}
limits: {{max_total_trials: {trials}, max_concurrent_trials: {nodes}}}
""")
    run = run_sweep(args, spec)
    sweep_id, wall, cpu, rss_mb = run.id, run.wall, run.cpu, run.rss_mb
    db = os.path.join(args.ws, "sweep.db")
    times = query(db, f"SELECT started_ms, ended_ms FROM trials WHERE sweep_id = '{sweep_id}' "
                      "AND state = 'completed' ORDER BY ended_ms")
    if len(times) != trials:
        sys.exit(f"{name}: {len(times)} of {trials} trials completed")
    ended_ms = [e for _, e in times]
    window = (ended_ms[-1] - min(s for s, _ in times)) / 1000.0
    print(f"  {trials:,} trials on {nodes} nodes: {wall:.1f} s wall ({trials / window:,.0f} "
          f"trials/s between first start and last end), {cpu:.1f} s CPU in all "
          f"(controller, workers, trials), controller peak RSS {rss_mb:.0f} MB", flush=True)
    # Early and late in this sweep: no start-up in either window, so a separate short
    # sweep's run-to-run noise (its 4 s include the start) is not in their ratio.
    growth = (window_costs(run.cpu_samples, ended_ms, 0.05, 0.15),
              window_costs(run.cpu_samples, ended_ms, 0.85, 0.95))
    return sweep_id, window / trials * 1e3, cpu / trials * 1e3, rss_mb, \
        run.controller_cpu / trials * 1e3, growth


def timed_median(cmd, repeats=5):
    """Median wall ms and median CPU ms (user + system, from wait4) of `repeats` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.monotonic() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()[-2000:]}")
        proc.stderr.close()
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def queries(args, sweep_id, big):
    """`sweep --version`, `sweep best` and `sweep trials --top 10` on the big workspace, wall
    and CPU, for the sweep binary and, side by side, for --shared-sweep (the same program
    linked to the shared gRPC, protobuf and Abseil libraries)."""
    binaries = [("this", args.sweep)]
    if args.shared_sweep:
        binaries.append(("shared", args.shared_sweep))
    true_ms, _ = timed_median(["/bin/true"])
    figures = {}
    for name, binary in binaries:
        figures[name] = {
            "version": timed_median([binary, "--version"]),
            "best": timed_median([binary, "best", sweep_id, "--workspace", args.ws]),
            "top": timed_median([binary, "trials", sweep_id, "--top", "10", "--workspace",
                                 args.ws])}
        print(f"  {name}: {binary} ({link_kind(binary)})", flush=True)
    this = figures["this"]
    start_ms = this["version"][0]
    anchor = f"`sweep --version` {start_ms:.1f} ms, /bin/true {true_ms:.1f} ms"

    def both(key):
        wall, cpu = this[key]
        text = f"{wall:.1f} ms wall, {cpu:.1f} ms CPU"
        if "shared" in figures:
            swall, scpu = figures["shared"][key]
            text += f" (shared link: {swall:.1f} ms wall, {scpu:.1f} ms CPU)"
        return text

    record("process start alone: `sweep --version` (median of 5)", both("version"), "",
           f"/bin/true {true_ms:.1f} ms")
    record(f"`sweep best` on {big:,} trials (median of 5)", both("best"), "< 50 ms", anchor,
           this["best"][0] < 50)
    record(f"`sweep trials --top 10` on {big:,} trials (median of 5)", both("top"), "< 100 ms",
           anchor, this["top"][0] < 100)


def scale(args):
    big, nodes = args.trials, args.nodes
    print(f"\n== scale: 1,000 then {big:,} tiny real trials on {nodes} nodes", flush=True)
    _, small_wall, small_cpu, small_rss, small_ctl, _ = scale_sweep(args, "scale_small", 1000,
                                                                     nodes)
    sweep_id, wall, cpu, rss, ctl, (early, late) = scale_sweep(args, "scale_big", big, nodes)
    record(f"wall ms per trial at {big:,} vs 1,000", f"{wall:.2f} vs {small_wall:.2f} "
           f"(x{wall / small_wall:.2f})", "no growth (<= x1.1)", "", wall <= small_wall * 1.1)
    record(f"CPU ms per trial (all processes) at {big:,} vs 1,000", f"{cpu:.2f} vs "
           f"{small_cpu:.2f} (x{cpu / small_cpu:.2f})", "no growth (<= x1.1)", "",
           cpu <= small_cpu * 1.1)
    record(f"controller CPU ms per trial at {big:,} vs 1,000", f"{ctl:.2f} vs {small_ctl:.2f} "
           f"(x{ctl / small_ctl:.2f})", "no growth (<= x1.1)", "", ctl <= small_ctl * 1.1)
    for k, what in enumerate(["wall ms", "Sweep CPU ms (controller and workers)",
                              "controller CPU ms"]):
        record(f"{what} per trial in the {big:,}-trial sweep, trials 85-95% vs 5-15%",
               f"{late[k]:.2f} vs {early[k]:.2f} (x{late[k] / early[k]:.2f})",
               "no growth (<= x1.1)", "the same run", late[k] <= early[k] * 1.1)
    record(f"controller peak RSS at {big:,} trials", f"{rss:.0f} MB (1,000: {small_rss:.0f} MB)",
           "<= 300 MB", "", rss <= 300)
    queries(args, sweep_id, big)


# ---------------------------------------------------------------------------- samplers

def samplers(args):
    print("\n== sampler suggestion cost against history size", flush=True)
    exe = os.path.join(args.build, "bench", "sampler_cost_bench")
    if not os.path.exists(exe):
        sys.exit(f"{exe} is missing: cmake --build {args.build} --target sampler_cost_bench")
    cmd = [exe] + (["--quick"] if args.quick else [])
    proc = run_checked(cmd)
    for line in proc.stdout.splitlines():
        print("  " + line)
        if line.startswith("RESULT "):  # RESULT sampler history us
            _, sampler, history, micros = line.split()
            record(f"{sampler} suggestion with {int(history):,} trials of history",
                   f"{float(micros):,.0f} us")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--sweep", help="the sweep binary (default BUILD/cli/sweep)")
    p.add_argument("--shared-sweep", help="the same program linked to the shared gRPC, "
                   "protobuf and Abseil libraries, its queries measured beside --sweep's "
                   "(default BUILD/bench/sweep_shared when built; 'none': skip)")
    p.add_argument("--python", default="/usr/bin/python3", help="interpreter with optuna")
    p.add_argument("--quick", action="store_true", help="10,000 trials and 50,000 lines")
    p.add_argument("--only", default="ingest,scale,samplers")
    p.add_argument("--points", type=int, help="lines per ingest trial (default 200,000)")
    p.add_argument("--trials", type=int, help="trials of the big sweep (default 100,000)")
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--optuna-seconds", type=float, default=20,
                   help="time Optuna may take reporting points (it slows as they grow)")
    p.add_argument("--keep", action="store_true", help="keep the workspaces")
    p.add_argument("--dir", help="where the workspaces go (default: under BUILD, not /tmp: "
                   "the 100,000-trial workspace is large)")
    args = p.parse_args()
    args.sweep = args.sweep or os.path.join(args.build, "cli", "sweep")
    shared = args.shared_sweep or os.path.join(args.build, "bench", "sweep_shared")
    args.shared_sweep = shared if shared != "none" and os.access(shared, os.X_OK) else None
    if args.shared_sweep is None and shared != "none":
        print("no shared-link binary to compare with (cmake --build build --target "
              "sweep_shared builds it)", flush=True)
    args.points = args.points or (50_000 if args.quick else 200_000)
    args.trials = args.trials or (10_000 if args.quick else 100_000)
    args.tmp = os.path.abspath(tempfile.mkdtemp(prefix="ingest_bench.", dir=args.dir or args.build))
    only = set(args.only.split(","))
    try:
        if "ingest" in only:
            ingest(args)
        if "scale" in only:
            scale(args)
        if "samplers" in only:
            samplers(args)
    finally:
        if args.keep:
            print(f"workspaces kept in {args.tmp}")
        else:
            shutil.rmtree(args.tmp, ignore_errors=True)
    print("\n| figure | value | target | anchor (same run) | |\n|---|---|---|---|---|")
    for figure, value, target, anchor, ok in RESULTS:
        mark = "" if ok is None else ("PASS" if ok else "MISS")
        print(f"| {figure} | {value} | {target} | {anchor} | {mark} |")
    return 1 if any(ok is False for *_, ok in RESULTS) else 0


if __name__ == "__main__":
    sys.exit(main())
