#!/usr/bin/python3
"""AutoML trial: builds the scikit-learn estimator the sweep chose and scores it.

The sweep's nested `choice` picks the estimator family and its own hyperparameters;
they arrive as JSON in SWEEP_PARAMS (only the chosen branch's parameters are present).
Each cross-validation fold reports the running mean accuracy as one interval, so
early-termination policies can stop weak estimators after a few folds. The fitted
estimator is pickled to outputs/model.pkl.
"""
import json
import os
import pickle
import sys

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def build(params):
    model = params["model"]
    if model == "svm":
        return make_pipeline(StandardScaler(), SVC(C=params["C"], gamma=params["gamma"]))
    if model == "random_forest":
        return RandomForestClassifier(n_estimators=int(params["n_estimators"]),
                                      max_depth=int(params["max_depth"]), random_state=0)
    if model == "logistic_regression":
        return make_pipeline(StandardScaler(),
                             LogisticRegression(C=params["C"], max_iter=300))
    sys.exit(f"unknown model {model!r}")


def main():
    params = json.loads(os.environ["SWEEP_PARAMS"])
    print(f"params: {json.dumps(params, sort_keys=True)}", file=sys.stderr)
    x, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = []
    for fold, (train, test) in enumerate(folds.split(x, y), start=1):
        estimator = build(params)
        estimator.fit(x[train], y[train])
        scores.append(estimator.score(x[test], y[test]))
        print(f"fold={fold} accuracy={sum(scores) / len(scores):.5f}", flush=True)
    final = build(params).fit(x, y)
    outputs = os.environ.get("SWEEP_OUTPUTS_DIR", "outputs")
    os.makedirs(outputs, exist_ok=True)
    with open(os.path.join(outputs, "model.pkl"), "wb") as f:
        pickle.dump(final, f)


if __name__ == "__main__":
    main()
