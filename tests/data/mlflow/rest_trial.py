"""A trial that logs only through MLflow's tracking REST API, with requests shaped exactly as
MLflow's REST reference and protos define them (Python standard library only), and checks
every answer. It prints nothing to stdout, so whatever Sweep records came through MLflow.
Exits 1 with the reason on stderr when an answer is not what MLflow's server would give.

Usage: rest_trial.py SCALE  (the accuracy curve is SCALE * [0.2, 0.4, 0.6, 0.8, 0.9])
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

URI = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
RUN_ID = os.environ["MLFLOW_RUN_ID"]
SCALE = float(sys.argv[1])


def fail(message):
    sys.stderr.write(f"rest_trial: {message}\n")
    sys.exit(1)


def http(method, path, body=None, content_type="application/json"):
    """(status, parsed JSON or raw bytes) of one request to the tracking server."""
    headers = {"Content-Type": content_type} if body is not None else {}
    request = urllib.request.Request(URI + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            status, payload, kind = reply.status, reply.read(), reply.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        status, payload, kind = error.code, error.read(), error.headers["Content-Type"]
    if kind == "application/json":
        return status, json.loads(payload)
    return status, payload


def api(method, endpoint, fields=None, expect=200):
    if method == "GET":
        status, answer = http("GET", f"/api/2.0/mlflow/{endpoint}?"
                              + urllib.parse.urlencode(fields or {}))
    else:
        status, answer = http(method, f"/api/2.0/mlflow/{endpoint}",
                              json.dumps(fields or {}).encode())
    if status != expect:
        fail(f"{method} {endpoint}: HTTP {status} {answer}, expected {expect}")
    return answer


def expect_error(status, answer, want_status, want_code, what):
    if status != want_status or not isinstance(answer, dict) \
            or answer.get("error_code") != want_code or not answer.get("message"):
        fail(f"{what}: got HTTP {status} {answer}, expected {want_status} {want_code}")


def now_ms():
    return int(time.time() * 1000)


# The experiment and the run the worker set up (mlflow.start_run() with MLFLOW_RUN_ID).
experiment = api("GET", "experiments/get-by-name",
                 {"experiment_name": os.environ["MLFLOW_EXPERIMENT_NAME"]})["experiment"]
if experiment["experiment_id"] != os.environ["MLFLOW_EXPERIMENT_ID"]:
    fail(f"experiment {experiment} is not MLFLOW_EXPERIMENT_ID")
run = api("GET", "runs/get", {"run_id": RUN_ID})["run"]
if run["info"]["run_id"] != RUN_ID or run["info"]["experiment_id"] != experiment["experiment_id"]:
    fail(f"runs/get gave {run}")
api("POST", "runs/update", {"run_id": RUN_ID, "run_uuid": RUN_ID, "status": "RUNNING"})

# log-batch with metrics, params and tags (LogBatch in service.proto).
api("POST", "runs/log-batch", {
    "run_id": RUN_ID,
    "metrics": [{"key": "accuracy", "value": SCALE * 0.2, "timestamp": now_ms(), "step": 0},
                {"key": "loss", "value": 1 - SCALE * 0.2, "timestamp": now_ms(), "step": 0}],
    "params": [{"key": "scale", "value": str(SCALE)}, {"key": "optimizer", "value": "sgd"}],
    "tags": [{"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "team", "value": "vision"}],
})
# A step sequence with log-metric (LogMetric: int64 fields as protobuf's JSON strings too).
for step, fraction in enumerate([0.4, 0.6, 0.8, 0.9], start=1):
    api("POST", "runs/log-metric", {"run_id": RUN_ID, "run_uuid": RUN_ID, "key": "accuracy",
                                    "value": SCALE * fraction, "timestamp": str(now_ms()),
                                    "step": str(step)})
api("POST", "runs/log-parameter", {"run_id": RUN_ID, "key": "epochs", "value": "5"})
api("POST", "runs/set-tag", {"run_id": RUN_ID, "key": "stage", "value": "trained"})
api("POST", "runs/log-inputs", {"run_id": RUN_ID, "datasets": [{
    "tags": [{"key": "mlflow.data.context", "value": "training"}],
    "dataset": {"name": "iris", "digest": "6a1b2c3d", "source_type": "code",
                "source": "{\"tags\": {}}"}}]})

# An artifact upload to the run's artifact root (mlflow-artifacts:/<exp>/<run>/artifacts).
root = urllib.parse.urlparse(run["info"]["artifact_uri"]).path.lstrip("/")
artifacts = f"/api/2.0/mlflow-artifacts/artifacts/{root}"
weights = f"weights for scale {SCALE}\n".encode()
status, answer = http("PUT", f"{artifacts}/model/weights.txt", weights,
                      "application/octet-stream")
if status != 200:
    fail(f"artifact upload: HTTP {status} {answer}")
status, listed = http("GET", "/api/2.0/mlflow-artifacts/artifacts?"
                      + urllib.parse.urlencode({"path": f"{root}/model"}))
if status != 200 or listed != {"files": [{"path": "weights.txt", "is_dir": False,
                                          "file_size": len(weights)}]}:
    fail(f"artifact list: HTTP {status} {listed}")
status, content = http("GET", f"{artifacts}/model/weights.txt")
if status != 200 or content != weights:
    fail(f"artifact download: HTTP {status} {content!r}")

# Errors have MLflow's shape, and nothing of a refused request is stored.
expect_error(*http("POST", "/api/2.0/mlflow/runs/no-such-thing", b"{}"), 404,
             "ENDPOINT_NOT_FOUND", "unknown endpoint")
expect_error(*http("POST", "/api/2.0/mlflow/runs/log-batch", b"{\"run_id\": "), 400,
             "INVALID_PARAMETER_VALUE", "malformed JSON")
expect_error(*http("POST", "/api/2.0/mlflow/runs/log-metric", json.dumps(
    {"run_id": "not-this-run", "key": "accuracy", "value": 99.0,
     "timestamp": now_ms()}).encode()), 404, "RESOURCE_DOES_NOT_EXIST", "wrong run id")
expect_error(*http("PUT", f"/api/2.0/mlflow-artifacts/artifacts/1/not-this-run/artifacts/x.txt",
                   b"x", "application/octet-stream"), 404, "RESOURCE_DOES_NOT_EXIST",
             "artifact of another run")

run = api("GET", "runs/get", {"run_id": RUN_ID})["run"]
params = {p["key"]: p["value"] for p in run["data"]["params"]}
tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
latest = {m["key"]: m for m in run["data"]["metrics"]}
if params != {"scale": str(SCALE), "optimizer": "sgd", "epochs": "5"}:
    fail(f"params {params}")
if tags.get("team") != "vision" or tags.get("stage") != "trained":
    fail(f"tags {tags}")
if latest["accuracy"]["step"] != 4 or abs(latest["accuracy"]["value"] - SCALE * 0.9) > 1e-12:
    fail(f"latest accuracy {latest['accuracy']} (the refused 99.0 must not be stored)")
history = api("GET", "metrics/get-history", {"run_id": RUN_ID, "metric_key": "accuracy"})
if [m["step"] for m in history["metrics"]] != [0, 1, 2, 3, 4]:
    fail(f"history {history}")
api("POST", "runs/update", {"run_id": RUN_ID, "run_uuid": RUN_ID, "status": "FINISHED",
                            "end_time": now_ms()})
