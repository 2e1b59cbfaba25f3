#!/usr/bin/python3
"""Real learning curves for bench/policy_bench: scikit-learn's SGDClassifier trained
epoch by epoch (partial_fit) on the bundled digits data set, for a seeded random set of
hyperparameters. Writes {"metric", "goal", "epochs", "trials": [{"params", "curve"}]}
where each curve is the validation accuracy after each epoch.

Run with /usr/bin/python3 (Debian's python3-sklearn):
    /usr/bin/python3 bench/sgd_curves.py --out curves.json [--trials 120] [--epochs 40]
"""
import argparse
import json
import math
import random
import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def sample_params(rng):
    learning_rate = rng.choice(["optimal", "constant", "invscaling", "adaptive"])
    params = {
        "loss": rng.choice(["hinge", "log_loss", "modified_huber", "squared_hinge"]),
        "penalty": rng.choice(["l2", "l1", "elasticnet"]),
        "alpha": math.exp(rng.uniform(math.log(1e-6), math.log(1e-1))),
        "learning_rate": learning_rate,
        # eta0 only matters for the non-"optimal" schedules.
        "eta0": math.exp(rng.uniform(math.log(1e-5), math.log(1.0))),
    }
    return params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    digits = load_digits()
    x_train, x_val, y_train, y_val = train_test_split(
        digits.data, digits.target, test_size=0.3, random_state=0, stratify=digits.target)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    classes = np.unique(digits.target)

    rng = random.Random(args.seed)
    trials = []
    for i in range(args.trials):
        params = sample_params(rng)
        model = SGDClassifier(random_state=args.seed * 1000 + i, **params)
        order = np.random.RandomState(i)
        curve = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(args.epochs):
                perm = order.permutation(len(x_train))
                model.partial_fit(x_train[perm], y_train[perm], classes=classes)
                curve.append(float(model.score(x_val, y_val)))
        trials.append({"params": params, "curve": curve})

    with open(args.out, "w") as f:
        json.dump({"data_set": "sklearn digits (1797 images, 30% validation)",
                   "model": "SGDClassifier.partial_fit, one epoch per interval",
                   "metric": "accuracy", "goal": "maximize", "epochs": args.epochs,
                   "seed": args.seed, "trials": trials}, f)
    print(f"wrote {len(trials)} curves x {args.epochs} epochs to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
