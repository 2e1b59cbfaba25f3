"""A stand-in for `import mlflow` when the mlflow package is not installed.

main.py does `import mlflow` and falls back to this module, which speaks MLflow's tracking
REST API with the Python standard library (urllib), sending the same requests the MLflow
client sends: the tracking server is $MLFLOW_TRACKING_URI, the run $MLFLOW_RUN_ID (set by
Sweep's worker for each attempt, as Azure ML sets them for a job). It covers what main.py
uses: start_run/end_run, log_metric(s), log_param(s), set_tag(s), log_input,
log_artifact(s), and autolog() for scikit-learn classifiers (training metrics, params and
the fitted model logged as a `model/` directory, like mlflow.sklearn.autolog).

With the real package installed none of this runs: `pip install mlflow` and main.py uses it.
"""

import json
import os
import pickle
import platform
import posixpath
import time
import urllib.error
import urllib.parse
import urllib.request

__version__ = "standin"

_active_run_id = None


class MlflowException(Exception):
    """An error answer of the tracking server ({"error_code", "message"})."""

    def __init__(self, error_code, message):
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code


def _tracking_uri():
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri.startswith("http"):
        raise MlflowException("INVALID_PARAMETER_VALUE",
                              "the stand-in needs MLFLOW_TRACKING_URI=http://...")
    return uri.rstrip("/")


def _send(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            return reply.read()
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            info = json.loads(payload)
            raise MlflowException(info.get("error_code", "INTERNAL_ERROR"),
                                  info.get("message", "")) from None
        except ValueError:
            raise MlflowException("INTERNAL_ERROR", f"HTTP {error.code}: {payload[:200]!r}")


def _call(method, endpoint, fields):
    """One call of /api/2.0/mlflow/<endpoint>: GET with a query string, POST with JSON."""
    url = f"{_tracking_uri()}/api/2.0/mlflow/{endpoint}"
    if method == "GET":
        payload = _send("GET", url + "?" + urllib.parse.urlencode(fields))
    else:
        payload = _send(method, url, json.dumps(fields).encode(),
                        {"Content-Type": "application/json"})
    return json.loads(payload or b"{}")


def _now_ms():
    return int(time.time() * 1000)


class _Run:
    """What `with mlflow.start_run() as run:` gives: run.info.run_id and friends."""

    def __init__(self, run):
        info = run["info"]
        self.info = type("RunInfo", (), dict(info))()
        self.data = run.get("data", {})

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        end_run("FINISHED" if exc_type is None else "FAILED")
        return False


def get_experiment_by_name(name):
    try:
        return _call("GET", "experiments/get-by-name", {"experiment_name": name})["experiment"]
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def set_experiment(experiment_name):
    experiment = get_experiment_by_name(experiment_name)
    if experiment is None:
        experiment_id = _call("POST", "experiments/create", {"name": experiment_name})
        experiment = _call("GET", "experiments/get", experiment_id)["experiment"]
    os.environ["MLFLOW_EXPERIMENT_ID"] = experiment["experiment_id"]
    return experiment


def start_run(run_id=None, run_name=None, tags=None):
    """Attaches to $MLFLOW_RUN_ID (the attempt's run) as mlflow.start_run() does."""
    global _active_run_id
    run_id = run_id or os.environ.get("MLFLOW_RUN_ID")
    if run_id:
        run = _call("GET", "runs/get", {"run_id": run_id})["run"]
        _call("POST", "runs/update", {"run_id": run_id, "run_uuid": run_id, "status": "RUNNING"})
        if tags:
            log_batch(tags=tags)
    else:
        experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID", "0")
        request = {"experiment_id": experiment_id, "start_time": _now_ms(),
                   "tags": [{"key": k, "value": str(v)} for k, v in (tags or {}).items()]}
        if run_name:
            request["run_name"] = run_name
        run = _call("POST", "runs/create", request)["run"]
        run_id = run["info"]["run_id"]
    _active_run_id = run_id
    return _Run(_call("GET", "runs/get", {"run_id": run_id})["run"])


def active_run():
    if _active_run_id is None:
        return None
    return _Run(_call("GET", "runs/get", {"run_id": _active_run_id})["run"])


def end_run(status="FINISHED"):
    global _active_run_id
    if _active_run_id is None:
        return
    _call("POST", "runs/update", {"run_id": _active_run_id, "run_uuid": _active_run_id,
                                  "status": status, "end_time": _now_ms()})
    _active_run_id = None


def _run_id():
    if _active_run_id is None:
        start_run()
    return _active_run_id


def log_metric(key, value, step=None):
    _call("POST", "runs/log-metric", {"run_id": _run_id(), "run_uuid": _run_id(), "key": key,
                                      "value": float(value), "timestamp": _now_ms(),
                                      "step": step or 0})


def log_batch(metrics=None, params=None, tags=None, step=None):
    now = _now_ms()
    _call("POST", "runs/log-batch", {
        "run_id": _run_id(),
        "metrics": [{"key": k, "value": float(v), "timestamp": now, "step": step or 0}
                    for k, v in (metrics or {}).items()],
        "params": [{"key": k, "value": str(v)} for k, v in (params or {}).items()],
        "tags": [{"key": k, "value": str(v)} for k, v in (tags or {}).items()],
    })


def log_metrics(metrics, step=None):
    log_batch(metrics=metrics, step=step)


def log_param(key, value):
    _call("POST", "runs/log-parameter", {"run_id": _run_id(), "run_uuid": _run_id(), "key": key,
                                         "value": str(value)})


def log_params(params):
    log_batch(params=params)


def set_tag(key, value):
    _call("POST", "runs/set-tag", {"run_id": _run_id(), "run_uuid": _run_id(), "key": key,
                                   "value": str(value)})


def set_tags(tags):
    log_batch(tags=tags)


def log_input(name, digest, source, schema=None, context="training"):
    """A dataset input, as mlflow.log_input(mlflow.data.from_numpy(...)) sends it."""
    dataset = {"name": name, "digest": digest, "source_type": "code",
               "source": json.dumps({"tags": {"mlflow.source.name": source}})}
    if schema is not None:
        dataset["schema"] = json.dumps(schema)
    _call("POST", "runs/log-inputs", {"run_id": _run_id(), "datasets": [
        {"tags": [{"key": "mlflow.data.context", "value": context}], "dataset": dataset}]})


def get_artifact_uri():
    run = _call("GET", "runs/get", {"run_id": _run_id()})["run"]
    return run["info"]["artifact_uri"]


def _artifact_url(artifact_path, file_name):
    # mlflow-artifacts:/<exp>/<run>/artifacts resolves against the tracking server.
    root = urllib.parse.urlparse(get_artifact_uri()).path
    path = posixpath.join("/api/2.0/mlflow-artifacts/artifacts", root.lstrip("/"),
                          artifact_path or "", file_name)
    return _tracking_uri() + urllib.parse.quote(path)


def log_artifact(local_path, artifact_path=None):
    with open(local_path, "rb") as f:
        _send("PUT", _artifact_url(artifact_path, os.path.basename(local_path)), f.read(),
              {"Content-Type": "application/octet-stream"})


def log_artifacts(local_dir, artifact_path=None):
    for parent, _, files in os.walk(local_dir):
        rel = os.path.relpath(parent, local_dir)
        for name in files:
            sub = artifact_path if rel == "." else posixpath.join(artifact_path or "", rel)
            log_artifact(os.path.join(parent, name), sub)


def _log_sklearn_model(model, artifact_path, tmp_dir):
    """mlflow.sklearn.log_model's files: MLmodel, model.pkl, requirements.txt, conda.yaml."""
    import sklearn
    local = os.path.join(tmp_dir, artifact_path)
    os.makedirs(local, exist_ok=True)
    with open(os.path.join(local, "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    created = time.strftime("%Y-%m-%d %H:%M:%S")
    mlmodel = {
        "artifact_path": artifact_path, "run_id": _run_id(), "utc_time_created": created,
        "flavors": {
            "python_function": {"loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                                "python_version": platform.python_version(),
                                "env": {"conda": "conda.yaml"}},
            "sklearn": {"pickled_model": "model.pkl", "serialization_format": "pickle",
                        "sklearn_version": sklearn.__version__, "code": None},
        },
    }
    with open(os.path.join(local, "MLmodel"), "w") as f:
        f.write(f"artifact_path: {artifact_path}\nflavors:\n"
                f"  python_function:\n    loader_module: mlflow.sklearn\n"
                f"    model_path: model.pkl\n    python_version: {platform.python_version()}\n"
                f"  sklearn:\n    pickled_model: model.pkl\n    serialization_format: pickle\n"
                f"    sklearn_version: {sklearn.__version__}\n"
                f"run_id: {_run_id()}\nutc_time_created: '{created}'\n")
    with open(os.path.join(local, "requirements.txt"), "w") as f:
        f.write(f"scikit-learn=={sklearn.__version__}\n")
    with open(os.path.join(local, "conda.yaml"), "w") as f:
        f.write(f"dependencies:\n- python={platform.python_version()}\n- pip:\n"
                f"  - scikit-learn=={sklearn.__version__}\nname: mlflow-env\n")
    log_artifacts(local, artifact_path)
    try:  # the run's record of its models, as Model.log does (older servers lack it)
        _call("POST", "runs/log-model", {"run_id": _run_id(), "model_json": json.dumps(mlmodel)})
    except MlflowException:
        pass


def _classifier_metrics(model, X, y):
    from sklearn import metrics
    predicted = model.predict(X)
    out = {
        "training_accuracy_score": metrics.accuracy_score(y, predicted),
        "training_precision_score": metrics.precision_score(y, predicted, average="weighted",
                                                            zero_division=0),
        "training_recall_score": metrics.recall_score(y, predicted, average="weighted"),
        "training_f1_score": metrics.f1_score(y, predicted, average="weighted"),
    }
    if hasattr(model, "predict_proba"):
        try:
            proba = model.predict_proba(X)
            out["training_log_loss"] = metrics.log_loss(y, proba)
            out["training_roc_auc"] = metrics.roc_auc_score(y, proba, multi_class="ovr",
                                                            average="weighted")
        except (AttributeError, ValueError):
            pass
    out["training_score"] = model.score(X, y)
    return out


def autolog(log_models=True, **_):
    """mlflow.autolog() for scikit-learn classifiers: each fit() logs the estimator's params,
    its training metrics and (log_models) the fitted model under `model/`. Patches the
    classifiers of the sklearn modules imported so far (import them before calling this)."""
    import sys
    import tempfile
    import hashlib
    from sklearn.base import ClassifierMixin

    depth = [0]  # a fit inside a patched fit (a meta-estimator's) logs nothing itself

    def patch(cls):
        original = cls.fit

        def fit(self, X, y, *args, **kwargs):
            depth[0] += 1
            try:
                result = original(self, X, y, *args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] > 0:
                return result
            params = {k: v for k, v in self.get_params(deep=True).items()}
            log_batch(params=params, tags={"estimator_name": cls.__name__,
                                           "estimator_class": f"{cls.__module__}.{cls.__name__}"})
            digest = hashlib.md5(pickle.dumps((X, y))).hexdigest()[:8]
            log_input("dataset", digest, "sklearn fit")
            log_metrics(_classifier_metrics(self, X, y))
            if log_models:
                with tempfile.TemporaryDirectory() as tmp:
                    _log_sklearn_model(self, "model", tmp)
            return result

        fit._sweep_mlflow_standin = True
        cls.fit = fit

    for name, module in list(sys.modules.items()):
        if not name.startswith("sklearn.") or module is None:
            continue
        for value in list(vars(module).values()):
            if (isinstance(value, type) and issubclass(value, ClassifierMixin)
                    and callable(getattr(value, "fit", None))
                    and not getattr(value.fit, "_sweep_mlflow_standin", False)):
                patch(value)
