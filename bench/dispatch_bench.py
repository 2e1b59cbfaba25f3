#!/usr/bin/python3
"""Dispatch benchmark (issue 12): how fast Sweep hands out and finishes tiny real trials.

usage: /usr/bin/python3 bench/dispatch_bench.py [--build DIR] [--quick] [--trials N]
           [--trials16 N] [--optuna-trials N] [--no-optuna] [--lease-workers 64]
           [--lease-trials N] [--shape-trials N] [--long-trials N] [--json FILE]

Figures, each printed with its target and its anchor measured in the same run:
  - trials/s end to end (`sweep run`, wall time of the whole command, workers started by
    the local cluster) of `printf "loss=%s\\n" 5 4 3 2 1` trials, random sampling, with 2
    nodes (--trials, default 2000) and 16 nodes (--trials16, default 3000). Target
    >= 1000/s and >= 30x Optuna 3.1 + SQLite: N processes sharing one SQLite storage,
    RandomSampler, a no-op objective reporting 5 values (skipped with a message when
    /usr/bin/python3 has no optuna).
  - Sweep CPU per trial: user+system time of the controller (`sweep run`) and its worker
    processes, trial processes excluded, read from /proc while the sweep runs, starting
    the processes included (the share that is printed apart). Target <= 1 ms. Anchor: the CPU that spawning and reaping one `printf` costs this script
    (os.posix_spawn + waitpid), the floor of any dispatcher that runs a process per trial.
    The total CPU of the whole tree (trials included) is printed too.
  - The ceiling: one loop per core that only spawns, drains and reaps the same `printf`,
    side by side; trials/s no dispatcher running a process per trial can pass here. Each
    trials/s figure prints its share of it.
  - Lease latency: AcquireTrial returning a grant while trials wait, p99 with 64 workers
    (build/bench/lease_bench) and 50 ms trials, where the clients and the server fill both
    cores. Target <= 2 ms. Anchor: one unary gRPC round trip to the same server, p99. Then
    the same with 1 s trials (64 grants/s), equal (the workers in lockstep: a burst of 64
    requests each second) and of 0.5-1.5 s (the workers drift apart): the grant path
    without the machine's queue.
  - The same two figures on 2 nodes for other shapes of sweep (--shape-trials each,
    default 1000): a shell loop through bash, TPE over 4 mixed parameters, a bandit
    policy evaluated on every report; against the same 2-process Optuna figure.
  - Process start: the CPU of `sweep --version` (5 runs), against the same program linked
    to the shared gRPC/protobuf/Abseil libraries (build/bench/sweep_shared, when built);
    its share of the Sweep CPU per trial is printed with each sweep.
  - Sweep CPU per trial of a long sweep on 2 nodes (--long-trials, default 8000), taken
    over the trials after the first 2200: past each worker's --keep-attempts (1000),
    where an attempt also evicts the oldest. The trials' end times (`sweep trials --json`)
    mark the window in the CPU polls.
--quick: fewer trials (1000 / 1000 / Optuna 150 / leases 5000 / long 4000), about two
minutes.
Exit 0 when every measured target passes, 1 when one is missed.
"""
import argparse
import atexit
import calendar
import collections
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK = os.sysconf("SC_CLK_TCK")

SPEC = """type: sweep
display_name: dispatch-bench
trial:
  command: {command}
compute: azureml:cpu-cluster
sampling_algorithm: {sampling}
search_space:
{space}
objective: {{primary_metric: loss, goal: minimize}}
limits: {{max_total_trials: {trials}, max_concurrent_trials: {nodes}}}
{extra}"""

# The case, then other shapes of sweep users bring, so a figure good only on one
# shape shows: name -> (command, sampling, search space, extra spec keys).
PRINTF = 'printf "loss=%s\\n" 5 4 3 2 1'
SHAPES = {
    "printf, random": (PRINTF, "random", "  x: {type: uniform, min_value: 0, max_value: 1}", ""),
    "shell loop, random": ("for i in 5 4 3 2 ${{search_space.x}}; do echo loss=$i; done",
                           "random", "  x: {type: uniform, min_value: 0, max_value: 1}", ""),
    "printf, TPE, 4 mixed params": (
        'printf "loss=%s\\n" 5 4 3 2 ${{search_space.x}}', "tpe",
        "  x: {type: uniform, min_value: 0, max_value: 1}\n"
        "  lr: {type: loguniform, min_value: -9, max_value: -1}\n"
        "  n: {type: randint, upper: 64}\n"
        "  act: {type: choice, values: [relu, tanh, gelu]}", ""),
    "printf, random, bandit policy": (
        PRINTF, "random", "  x: {type: uniform, min_value: 0, max_value: 1}",
        "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}\n"),
}


def proc_cpu(pid):
    """(own user+system seconds, comm) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK, comm


def children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


class SweepCpu:
    """Follows `sweep run` and its worker processes (children running the same binary),
    keeping the last user+system time seen of each; trials (grandchildren) are not
    followed. A process's last 50 ms before it exits may be missed. `samples` (when asked
    for) receives (epoch seconds, CPU of all followed, CPU of the controller) every poll,
    so a figure can be taken over part of a run."""

    def __init__(self, root_pid, exe, samples=None):
        self.root, self.exe = root_pid, os.path.realpath(exe)
        self.last = {}
        self.samples = samples
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def is_sweep(self, pid):
        try:
            return os.path.realpath(f"/proc/{pid}/exe") == self.exe
        except OSError:
            return False

    def loop(self):
        known, scan_at = {self.root}, 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= scan_at:
                for pid in children(self.root):
                    if pid not in known and self.is_sweep(pid):
                        known.add(pid)
                scan_at = now + 0.2
            for pid in list(known):
                got = proc_cpu(pid)
                if got is not None:
                    self.last[pid] = got[0]
            if self.samples is not None:
                self.samples.append((time.time(), sum(self.last.values()),
                                     self.last.get(self.root, 0.0)))
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.thread.join()
        self.controller = self.last.get(self.root, 0.0)
        return sum(self.last.values()), len(self.last) - 1


KEEP_ATTEMPTS = 1000  # `sweep worker --keep-attempts` default, per node


def epoch(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def trial_end_times(sweep, env, sweep_id):
    """Each trial's end, in order. The store keeps end times to the second: the trials
    ending within one second are spread evenly over it."""
    out = subprocess.run([sweep, "trials", sweep_id, "--json"], env=env, check=True,
                         capture_output=True, text=True).stdout
    seconds = sorted(epoch(t["ended_at"]) for t in json.loads(out))
    per_second = collections.Counter(seconds)
    ends, seen = [], collections.Counter()
    for second in seconds:
        ends.append(second + (seen[second] + 0.5) / per_second[second])
        seen[second] += 1
    return ends


def cpu_at(samples, at):
    """The followed processes' CPU at epoch time `at`, interpolated between 50 ms polls
    (the last poll's when `at`, spread within its second, falls after it)."""
    before = [s for s in samples if s[0] <= at]
    after = [s for s in samples if s[0] > at]
    if not before:
        raise RuntimeError(f"no CPU sample before {at}")
    if not after:
        return before[-1][1]
    (t0, c0, _), (t1, c1, _) = before[-1], after[0]
    return c0 + (c1 - c0) * (at - t0) / max(t1 - t0, 1e-9)


# Workspaces of finished cases, removed when the benchmark ends rather than after each case:
# ext4 without a journal (this machine's) skips every inode freed in the last minute or
# more when it allocates one, so removing one case's thousands of attempt directories
# taxed the next case's directory and log creation (Sweep CPU per trial 3.42-3.52 ms right
# after a removal against 2.51-2.57 ms without, same binary, 2 nodes, 2,000 trials).
SPENT = []
atexit.register(lambda: [shutil.rmtree(path, ignore_errors=True) for path in SPENT])


def run_sweep(sweep, nodes, trials, shape="printf, random", past=None):
    """One `sweep run`; with `past` (a trial count), also the Sweep CPU per trial over the
    trials after the first `past` to end ("past_*" keys)."""
    ws = tempfile.mkdtemp(prefix="sweep-dispatch-bench-")
    try:
        env = dict(os.environ, SWEEP_WORKSPACE=ws, NO_COLOR="1")
        subprocess.run([sweep, "compute", "update", "cpu-cluster", "--max-nodes", str(nodes)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        spec = os.path.join(ws, "spec.yml")
        with open(spec, "w") as f:
            command, sampling, space, extra = SHAPES[shape]
            f.write(SPEC.format(trials=trials, nodes=nodes, command=command, sampling=sampling,
                                space=space, extra=extra))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = subprocess.Popen([sweep, "run", spec, "--json"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        samples = [] if past else None
        cpu = SweepCpu(proc.pid, sweep, samples)
        out, err = proc.communicate()
        seconds = time.monotonic() - start
        sweep_cpu, workers = cpu.finish()
        controller_cpu = cpu.controller
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise RuntimeError(f"sweep run exited {proc.returncode}: {err[-2000:]}")
        summary = json.loads(out)
        counts = summary.get("trials", {})
        completed = counts.get("completed", 0) + counts.get("early_terminated", 0)
        if completed != trials:
            raise RuntimeError(f"{completed} of {trials} trials completed: {out[:2000]}")
        result = {"nodes": nodes, "trials": trials, "seconds": seconds,
                  "trials_per_s": trials / seconds, "sweep_cpu_ms_per_trial":
                  1000 * sweep_cpu / trials, "total_cpu_ms_per_trial": 1000 * total_cpu / trials,
                  "controller_cpu_ms_per_trial": 1000 * controller_cpu / trials,
                  "workers_seen": workers}
        if past:
            ends = trial_end_times(sweep, env, summary["id"])
            mark, last = ends[past - 1], ends[-1]
            at_mark, at_last = cpu_at(samples, mark), cpu_at(samples, last)
            result.update(past=past, past_trials_per_s=(trials - past) / (last - mark),
                          past_sweep_cpu_ms_per_trial=1000 * (at_last - at_mark) /
                          (trials - past),
                          first_sweep_cpu_ms_per_trial=1000 * at_mark / past)
        return result
    finally:
        SPENT.append(ws)


OPTUNA_WORKER = r"""
import sys, warnings, optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.simplefilter("ignore")
url, n = sys.argv[1], int(sys.argv[2])
# A long busy timeout: 16 writers on one SQLite file otherwise fail "database is locked".
storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 600}})
study = optuna.load_study(study_name="bench", storage=storage,
                          sampler=optuna.samplers.RandomSampler())
def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    for step, value in enumerate((5, 4, 3, 2, 1)):
        trial.report(value, step)
    return 1.0
study.optimize(objective, n_trials=n)
"""


def run_optuna(python, processes, trials):
    """Trials/s of `processes` Optuna processes sharing one SQLite file; None if absent."""
    probe = subprocess.run([python, "-c", "import optuna; print(optuna.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return None, f"{python} cannot import optuna: {probe.stderr.strip()[-200:]}"
    version = probe.stdout.strip()
    tmp = tempfile.mkdtemp(prefix="sweep-dispatch-optuna-")
    try:
        url = f"sqlite:///{tmp}/optuna.db"
        create = ("import optuna, sys; optuna.logging.set_verbosity(optuna.logging.WARNING); "
                  "optuna.create_study(study_name='bench', storage=sys.argv[1])")
        subprocess.run([python, "-c", create, url], check=True)
        share = [trials // processes + (1 if i < trials % processes else 0)
                 for i in range(processes)]
        start = time.monotonic()
        procs = [subprocess.Popen([python, "-c", OPTUNA_WORKER, url, str(n)],
                                  stderr=subprocess.PIPE, text=True) for n in share]
        failures = [p.communicate()[1][-300:] for p in procs if p.wait() != 0]
        seconds = time.monotonic() - start
        if failures:
            return None, f"an Optuna process failed: {failures[0]}"
        return {"processes": processes, "trials": trials, "seconds": seconds,
                "trials_per_s": trials / seconds, "version": version}, None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def spawn_printf_loop(count):
    """Spawns, drains and reaps the benchmark's printf `count` times, nothing else."""
    printf = shutil.which("printf") or "/usr/bin/printf"
    for _ in range(count):
        r, w = os.pipe()
        pid = os.posix_spawn(printf, [printf, "loss=%s\\n", "5", "4", "3", "2", "1"],
                             os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, w, 1),
                                                       (os.POSIX_SPAWN_CLOSE, r)])
        os.close(w)
        while os.read(r, 4096):
            pass
        os.close(r)
        os.waitpid(pid, 0)


def spawn_anchor(count=500):
    """CPU ms (this process + children) to spawn, drain and reap one printf."""
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    spawn_printf_loop(count)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(getattr(b, f) - getattr(a, f) for a, b in ((self0, self1), (kids0, kids1))
              for f in ("ru_utime", "ru_stime"))
    return 1000 * cpu / count


def spawn_ceiling(loops, count):
    """Trials/s of the machine's ceiling: `loops` processes (one per core) that do nothing
    but spawn, drain and reap the benchmark's `printf`, side by side. No dispatcher that
    runs a process per trial can pass it on these cores."""
    start = time.monotonic()
    procs = [multiprocessing.Process(target=spawn_printf_loop, args=(count,))
             for _ in range(loops)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        raise RuntimeError("the spawn ceiling loop failed")
    return loops * count / (time.monotonic() - start)


def startup_cpu_ms(sweep, count=5):
    """CPU ms one start of the `sweep` binary costs (dynamic linking, static init)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(count):
        subprocess.run([sweep, "--version"], stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 1000 * ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / count


def link_kind(binary):
    """How `binary` links gRPC, protobuf and Abseil, and how many shared libraries it loads."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    libs = [line.split()[0] for line in out.splitlines() if "=>" in line]
    heavy = [lib for lib in libs if lib.startswith(("libabsl", "libgrpc", "libprotobuf"))]
    return f"{'shared' if heavy else 'static'} gRPC/Abseil, {len(libs)} shared libraries"


def run_lease_bench(binary, workers, trials, trial_ms=50, jitter=0.0):
    out = subprocess.run([binary, "--workers", str(workers), "--trials", str(trials),
                          "--trial-ms", str(trial_ms), "--trial-jitter", str(jitter), "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"lease_bench exited {out.returncode}: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def row(rows, figure, value, target, ok, anchor="", ratio=""):
    rows.append((figure, value, target, anchor, ratio,
                 "" if ok is None else "PASS" if ok else "MISS"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--trials", type=int, help="trials with 2 nodes (default 2000)")
    ap.add_argument("--trials16", type=int, help="trials with 16 nodes (default 3000)")
    ap.add_argument("--optuna-trials", type=int, help="Optuna trials per case (default 600)")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python with optuna")
    ap.add_argument("--lease-workers", type=int, default=64)
    ap.add_argument("--lease-trials", type=int, help="grants measured (default 20000)")
    ap.add_argument("--shape-trials", type=int,
                    help="trials of each other sweep shape, 2 nodes (default 1000; 0: none)")
    ap.add_argument("--long-trials", type=int,
                    help="trials of the long sweep, 2 nodes, measured past --keep-attempts "
                    "(default 8000; 0: none)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    t2 = a.trials or (1000 if a.quick else 2000)
    t16 = a.trials16 or (1000 if a.quick else 3000)
    topt = a.optuna_trials or (150 if a.quick else 600)
    tlease = a.lease_trials or (5000 if a.quick else 20000)
    tlong = a.long_trials if a.long_trials is not None else 4000 if a.quick else 8000
    sweep = os.path.join(a.build, "cli", "sweep")
    lease = os.path.join(a.build, "bench", "lease_bench")
    for b in (sweep, lease):
        if not os.access(b, os.X_OK):
            sys.exit(f"{b} is missing: build it (cmake --build build --target sweep lease_bench)")

    results, rows = {}, []
    anchor_ms = spawn_anchor()
    results["spawn_anchor_cpu_ms"] = anchor_ms
    cores = os.cpu_count() or 1
    ceiling = spawn_ceiling(cores, 500 if a.quick else 2000)
    results["spawn_ceiling_trials_per_s"] = ceiling
    row(rows, f"ceiling: {cores} bare spawn+reap loops of the trial, trials/s", f"{ceiling:.0f}",
        "", None, "no dispatcher running a process per trial passes it on these cores")
    start_ms = startup_cpu_ms(sweep)
    results["sweep_startup_cpu_ms"] = start_ms
    # The same program with the shared gRPC/protobuf/Abseil link, when built: the anchor of
    # the start-up figure (SWEEP_STATIC_LINK, docs/development.md).
    shared = os.path.join(a.build, "bench", "sweep_shared")
    shared_ms = startup_cpu_ms(shared) if os.access(shared, os.X_OK) else None
    results["sweep_shared_startup_cpu_ms"] = shared_ms
    row(rows, f"process start CPU (`sweep --version`, {link_kind(sweep)})", f"{start_ms:.1f} ms",
        "", None, f"shared link {shared_ms:.1f} ms" if shared_ms else
        "no build/bench/sweep_shared to compare", f"{start_ms / shared_ms:.2f}x" if shared_ms
        else "")
    for nodes, trials in ((2, t2), (16, t16)):
        print(f"sweep run: {trials} trials on {nodes} nodes ...", flush=True)
        r = run_sweep(sweep, nodes, trials)
        results[f"sweep_{nodes}"] = r
        r["startup_share_ms_per_trial"] = (nodes + 1) * start_ms / trials
        print(f"  {r['trials_per_s']:.0f} trials/s ({r['seconds']:.2f} s), Sweep CPU "
              f"{r['sweep_cpu_ms_per_trial']:.2f} ms/trial (controller "
              f"{r['controller_cpu_ms_per_trial']:.2f}), all CPU "
              f"{r['total_cpu_ms_per_trial']:.2f} ms/trial; starting the {nodes + 1} processes "
              f"(about {start_ms:.0f} ms each) is {r['startup_share_ms_per_trial']:.2f} ms/trial "
              "of the Sweep CPU", flush=True)
        opt = None
        if not a.no_optuna:
            print(f"Optuna + SQLite: {topt} trials in {nodes} processes ...", flush=True)
            opt, why = run_optuna(a.python, nodes, topt)
            if opt is None:
                print(f"  Optuna skipped: {why}")
            else:
                print(f"  {opt['trials_per_s']:.1f} trials/s ({opt['seconds']:.2f} s, "
                      f"optuna {opt['version']})", flush=True)
            results[f"optuna_{nodes}"] = opt
        tps = r["trials_per_s"]
        if opt:
            ratio = tps / opt["trials_per_s"]
            row(rows, f"trials/s, {nodes} nodes, {trials} trials", f"{tps:.0f}",
                ">= 1000 and >= 30x Optuna", tps >= 1000 and ratio >= 30,
                f"Optuna {opt['trials_per_s']:.1f}/s ({nodes} procs); "
                f"{100 * tps / ceiling:.0f}% of the ceiling", f"{ratio:.1f}x")
        else:
            row(rows, f"trials/s, {nodes} nodes, {trials} trials", f"{tps:.0f}", ">= 1000",
                tps >= 1000, f"Optuna skipped; {100 * tps / ceiling:.0f}% of the ceiling")
        cpu = r["sweep_cpu_ms_per_trial"]
        row(rows, f"Sweep CPU per trial, {nodes} nodes", f"{cpu:.2f} ms", "<= 1 ms", cpu <= 1.0,
            f"spawn+reap {anchor_ms:.2f} ms", f"{cpu / anchor_ms:.1f}x")
        results[f"sweep_{nodes}"]["spawn_ratio"] = cpu / anchor_ms

    # A long sweep: its workers pass --keep-attempts, where each attempt also evicts the
    # oldest (docs/architecture.md, bounded disk use); the figure is taken over those trials.
    past = 2 * (KEEP_ATTEMPTS + 100)
    if tlong > past:
        print(f"sweep run: {tlong} trials on 2 nodes, measured after trial {past} ...",
              flush=True)
        r = run_sweep(sweep, 2, tlong, past=past)
        results["sweep_2_long"] = r
        cpu = r["past_sweep_cpu_ms_per_trial"]
        print(f"  {r['trials_per_s']:.0f} trials/s in all, {r['past_trials_per_s']:.0f} after "
              f"trial {past}; Sweep CPU {cpu:.2f} ms/trial after it, "
              f"{r['first_sweep_cpu_ms_per_trial']:.2f} before it (start included)", flush=True)
        row(rows, f"Sweep CPU per trial, 2 nodes, trials {past + 1}-{tlong} (past "
            "--keep-attempts)", f"{cpu:.2f} ms", "<= 1 ms", cpu <= 1.0,
            f"spawn+reap {anchor_ms:.2f} ms; {r['first_sweep_cpu_ms_per_trial']:.2f} ms "
            f"before trial {past}", f"{cpu / anchor_ms:.1f}x")

    # Other shapes on 2 nodes, against the same Optuna anchor (its 2-process figure).
    tshape = a.shape_trials if a.shape_trials is not None else 1000
    opt2 = results.get("optuna_2")
    for shape in list(SHAPES)[1:] if tshape > 0 else []:
        print(f"sweep run ({shape}): {tshape} trials on 2 nodes ...", flush=True)
        r = run_sweep(sweep, 2, tshape, shape)
        results[f"shape {shape}"] = r
        tps, cpu = r["trials_per_s"], r["sweep_cpu_ms_per_trial"]
        print(f"  {tps:.0f} trials/s, Sweep CPU {cpu:.2f} ms/trial", flush=True)
        if opt2:
            ratio = tps / opt2["trials_per_s"]
            row(rows, f"trials/s, 2 nodes, {shape}", f"{tps:.0f}", ">= 1000 and >= 30x Optuna",
                tps >= 1000 and ratio >= 30, f"Optuna {opt2['trials_per_s']:.1f}/s", f"{ratio:.1f}x")
        else:
            row(rows, f"trials/s, 2 nodes, {shape}", f"{tps:.0f}", ">= 1000", tps >= 1000,
                "Optuna skipped")
        row(rows, f"Sweep CPU per trial, {shape}", f"{cpu:.2f} ms", "<= 1 ms", cpu <= 1.0,
            f"spawn+reap {anchor_ms:.2f} ms", f"{cpu / anchor_ms:.1f}x")

    print(f"lease_bench: {a.lease_workers} workers, {tlease} grants ...", flush=True)
    lb = run_lease_bench(lease, a.lease_workers, tlease)
    results["lease"] = lb
    p99 = lb["acquire_p99_us"] / 1000
    row(rows, f"lease latency p99, {a.lease_workers} workers, 50 ms trials "
        f"({lb['grants'] / lb['seconds']:.0f} grants/s)", f"{p99:.2f} ms", "<= 2 ms",
        p99 <= 2.0, f"unary rtt p99 {lb['anchor_rtt_p99_us'] / 1000:.2f} ms",
        f"{lb['acquire_p99_us'] / max(lb['anchor_rtt_p99_us'], 1e-9):.1f}x")
    print(f"  p50 {lb['acquire_p50_us'] / 1000:.2f} ms, p99 {p99:.2f} ms, "
          f"{lb['grants'] / lb['seconds']:.0f} grants/s", flush=True)
    # The same workers with 1 s trials: the grant path without the queue of a machine whose
    # cores the 64 clients and the server already fill. Equal trials keep the workers in
    # lockstep (64 requests in one burst each second); trials of 0.5-1.5 s drift apart.
    light = max(a.lease_workers * 10, tlease // 20)
    for jitter, label in ((0.0, "1 s trials"), (0.5, "0.5-1.5 s trials")):
        print(f"lease_bench: {a.lease_workers} workers, {label}, {light} grants ...", flush=True)
        ll = run_lease_bench(lease, a.lease_workers, light, 1000, jitter)
        results[f"lease {label}"] = ll
        row(rows, f"lease latency p99, {a.lease_workers} workers, {label} "
            f"({ll['grants'] / ll['seconds']:.0f} grants/s)",
            f"{ll['acquire_p99_us'] / 1000:.2f} ms", "", None,
            f"unary rtt p99 {ll['anchor_rtt_p99_us'] / 1000:.2f} ms",
            f"{ll['acquire_p99_us'] / max(ll['anchor_rtt_p99_us'], 1e-9):.1f}x")

    print()
    head = ("figure", "value", "target", "anchor (same run)", "ratio", "")
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    for line in [head] + rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip())
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0 if all(r[-1] != "MISS" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
