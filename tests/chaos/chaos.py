#!/usr/bin/env python3
"""Chaos test: a sweep survives its controller being SIGKILLed over and over.

Runs `sweep server` on a fresh workspace, submits one sweep, then repeatedly SIGKILLs the
controller (and, at random, one of its workers or trial processes) and starts it again,
until --controller-kills kills are done. A last controller then finishes the sweep. Checks:

  * exactly max_total_trials trials exist and every one is terminal;
  * no trial completed twice (one trial_completed event each at most);
  * no attempt is left leased or running;
  * every metric point of a completed trial is stored exactly once (the trial prints
    steps 1..N; its last attempt holds each exactly once), and no attempt holds a step twice;
  * no process of the sweep (worker or trial) outlives the last controller;
  * at least --min-completed trials completed (so the checks above had points to check),
    and the model of register_model is registered, once.

Attempts lost to the controller's own restarts end `interrupted` and do not count against
max_retries, so trials complete however often the controller is killed; attempts lost to a
killed worker (`lost`) or trial (`failed`) do count.

Prints the counts and exits 0 when there is no violation, 1 otherwise. The short form runs
in CI (ctest -L chaos); bench/run_chaos.sh runs the long form (200 controller kills).
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

TERMINAL_TRIALS = {"completed", "failed", "early_terminated", "canceled"}
LIVE_ATTEMPTS = {"leased", "running"}


def spec_text(marker, trials, steps):
    # Each trial prints steps 1..steps (a point of `loss` and `acc` per step), writes its
    # model to outputs/ and exits; the marker names its processes for the orphan check.
    script = (
        f"i=1; while [ $i -le {steps} ]; do echo step=$i loss=0.$i acc=$i; "
        f"i=$((i+1)); sleep 0.05; done; mkdir -p outputs; echo w > outputs/model.txt"
    )
    return (
        "type: sweep\n"
        "trial:\n"
        f"  command: sh -c '{script}' {marker} ${{{{search_space.a}}}}\n"
        "compute: azureml:cpu-cluster\n"
        "sampling_algorithm: {type: random, seed: 3}\n"
        "search_space:\n"
        "  a: {type: uniform, min_value: 0, max_value: 1}\n"
        "objective: {primary_metric: acc, goal: maximize}\n"
        f"limits: {{max_total_trials: {trials}, max_concurrent_trials: 2}}\n"
        "register_model: {name: chaos-model}\n"
    )


def processes_with(needle):
    """Pids whose command line contains `needle` (not this script)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmd and state != "Z":
            pids.append(int(name))
    return pids


class Controller:
    """One `sweep server` on the workspace."""

    def __init__(self, sweep, ws, lease_seconds):
        self.log = open(os.path.join(os.path.dirname(ws), "server.log"), "ab")
        self.proc = subprocess.Popen(
            [sweep, "server", "--listen", "127.0.0.1:0", "--json", "--workspace", ws,
             "--lease-seconds", str(lease_seconds)],
            stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        self.address = json.loads(line)["address"] if line else None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9


# A packed metric point of sweep.db (schema 9, docs/architecture.md#metric-points-in-sweepdb):
# timestamp_ms, value, step, interval, attempt, name id.
PACKED_POINT = struct.Struct("<qdqqii")


def load_metrics(db):
    """Unpacks every stored metric point into a temporary `metrics` table (sweep_id,
    trial_id, attempt, name, step, value) that the checks query."""
    names = dict(db.execute("SELECT id, name FROM metric_names"))
    db.execute("CREATE TEMP TABLE metrics (sweep_id, trial_id, attempt, name, step, value)")
    for sweep_id, trial_id, data in db.execute(
            "SELECT k.sweep_id, k.trial_id, r.data FROM trial_keys k JOIN metric_reports r "
            "ON r.trial_key = k.id ORDER BY r.id").fetchall():
        db.executemany("INSERT INTO temp.metrics VALUES (?, ?, ?, ?, ?, ?)",
                       [(sweep_id, trial_id, p[4], names[p[5]], p[2], p[1])
                        for p in PACKED_POINT.iter_unpack(data)])


def check(db_path, sweep_id, trials, steps, marker, min_completed):
    violations = []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    load_metrics(db)
    rows = db.execute("SELECT trial_id, state FROM trials WHERE sweep_id = ?",
                      (sweep_id,)).fetchall()
    states = {}
    for _, state in rows:
        states[state] = states.get(state, 0) + 1
    if len(rows) != trials:
        violations.append(f"{len(rows)} trials, expected {trials}")
    for trial_id, state in rows:
        if state not in TERMINAL_TRIALS:
            violations.append(f"trial {trial_id} left {state}")
    for trial_id, n in db.execute(
            "SELECT trial_id, COUNT(*) FROM events WHERE sweep_id = ? AND kind = "
            "'trial_completed' GROUP BY trial_id HAVING COUNT(*) > 1", (sweep_id,)):
        violations.append(f"trial {trial_id} completed {n} times")
    for trial_id, attempt, state in db.execute(
            "SELECT trial_id, attempt, state FROM attempts WHERE sweep_id = ?", (sweep_id,)):
        if state in LIVE_ATTEMPTS:
            violations.append(f"attempt {trial_id}#{attempt} left {state}")
    for trial_id, attempt, step, n in db.execute(
            "SELECT trial_id, attempt, step, COUNT(*) FROM metrics WHERE sweep_id = ? AND "
            "name = 'acc' GROUP BY trial_id, attempt, step HAVING COUNT(*) > 1", (sweep_id,)):
        violations.append(f"trial {trial_id}#{attempt} stored step {step} {n} times")
    completed = [t for t, s in rows if s == "completed"]
    if len(completed) < min_completed:
        violations.append(f"{len(completed)} trials completed, expected at least {min_completed}")
    points_checked = 0
    for trial_id in completed:
        (last,) = db.execute("SELECT MAX(attempt) FROM attempts WHERE sweep_id = ? AND "
                             "trial_id = ? AND state = 'succeeded'",
                             (sweep_id, trial_id)).fetchone()
        got = [s for (s,) in db.execute(
            "SELECT step FROM metrics WHERE sweep_id = ? AND trial_id = ? AND attempt = ? "
            "AND name = 'acc' ORDER BY step", (sweep_id, trial_id, last))]
        points_checked += len(got)
        if got != list(range(1, steps + 1)):
            violations.append(f"completed trial {trial_id}#{last} stored {len(got)} of "
                              f"{steps} steps")
    models = db.execute("SELECT COUNT(*) FROM models WHERE name = 'chaos-model'").fetchone()[0]
    if (completed or min_completed > 0) and models != 1:
        violations.append(f"{models} versions of the registered model, expected 1")
    orphans = processes_with(marker)
    if orphans:
        violations.append(f"orphan processes {orphans}")
    points = db.execute("SELECT COUNT(*) FROM metrics WHERE sweep_id = ?",
                        (sweep_id,)).fetchone()[0]
    attempts = dict(db.execute("SELECT state, COUNT(*) FROM attempts WHERE sweep_id = ? "
                               "GROUP BY state", (sweep_id,)).fetchall())
    return violations, {"trials": states, "attempts": attempts, "metric_points": points,
                        "points_checked": points_checked, "model_versions": models}


def completed_under_chaos(db_path, sweep_id, until_ms):
    """Trials that completed before the last controller kill."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    (n,) = db.execute("SELECT COUNT(*) FROM events WHERE sweep_id = ? AND kind = "
                      "'trial_completed' AND timestamp_ms < ?", (sweep_id, until_ms)).fetchone()
    db.close()
    return n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep", required=True, help="the sweep binary")
    parser.add_argument("--controller-kills", type=int, default=10)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--min-run", type=float, default=0.5,
                        help="least seconds a controller runs before it is killed")
    parser.add_argument("--max-run", type=float, default=2.0)
    parser.add_argument("--finish-timeout", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-completed", type=int, default=1,
                        help="fewest trials that must complete")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sweep = os.path.abspath(args.sweep)

    top = tempfile.mkdtemp(prefix="sweep-chaos-")
    ws = os.path.join(top, "ws")
    marker = f"chaos-marker-{os.getpid()}-{rng.randrange(1 << 30)}"
    spec = os.path.join(top, "spec.yml")
    with open(spec, "w") as f:
        f.write(spec_text(marker, args.trials, args.steps))

    kills = {"controller": 0, "worker": 0, "trial": 0}
    ctl = Controller(sweep, ws, lease_seconds=2)
    if ctl.address is None:
        print("the first controller did not start; see", top + "/server.log")
        return 1
    submitted = subprocess.run(
        [sweep, "submit", spec, "--server", ctl.address, "--token-file", ws + "/token", "--json"],
        capture_output=True, text=True)
    if submitted.returncode != 0:
        print("submit failed:", submitted.stderr)
        return 1
    sweep_id = json.loads(submitted.stdout)["id"]
    started = time.monotonic()
    while kills["controller"] < args.controller_kills:
        time.sleep(rng.uniform(args.min_run, args.max_run))
        roll = rng.random()
        if roll < 0.25:
            victims = processes_with(" worker --server " + (ctl.address or "-"))
            if victims:
                os.kill(rng.choice(victims), signal.SIGKILL)
                kills["worker"] += 1
                time.sleep(rng.uniform(0, args.min_run))
        elif roll < 0.4:
            victims = [p for p in processes_with(marker)]
            if victims:
                os.kill(rng.choice(victims), signal.SIGKILL)
                kills["trial"] += 1
                time.sleep(rng.uniform(0, args.min_run))
        ctl.kill()
        kills["controller"] += 1
        ctl = Controller(sweep, ws, lease_seconds=2)
        if ctl.address is None:
            print("a controller did not start; see", top + "/server.log")
            return 1

    # The last controller finishes the sweep.
    chaos_ended_ms = int(time.time() * 1000)
    deadline = time.monotonic() + args.finish_timeout
    db_path = os.path.join(ws, "sweep.db")
    state = "running"
    while time.monotonic() < deadline:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        (state,) = db.execute("SELECT state FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        registered = db.execute("SELECT COUNT(*) FROM events WHERE sweep_id = ? AND kind IN "
                                "('model_registered', 'model_registration_failed')",
                                (sweep_id,)).fetchone()[0]
        db.close()
        if state != "running" and registered > 0:
            break
        time.sleep(0.5)
    code = ctl.stop()
    time.sleep(1)  # workers stopped with the controller; their trials with them

    violations, counts = check(db_path, sweep_id, args.trials, args.steps, marker,
                               args.min_completed)
    if state == "running":
        violations.append(f"sweep still running after {args.finish_timeout} s")
    if code != 0:
        violations.append(f"the last controller exited {code}")
    print(json.dumps({
        "controller_kills": kills["controller"], "worker_kills": kills["worker"],
        "trial_kills": kills["trial"], "sweep_state": state, **counts,
        "completed_under_chaos": completed_under_chaos(db_path, sweep_id, chaos_ended_ms),
        "seconds": round(time.monotonic() - started, 1), "violations": violations,
    }, indent=1))
    if violations:
        print("workspace kept for inspection:", top)
        return 1
    subprocess.run(["rm", "-rf", top])
    return 0


if __name__ == "__main__":
    sys.exit(main())
