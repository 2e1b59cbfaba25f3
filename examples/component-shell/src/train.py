"""A small kernel nearest-centroid classifier on an iris sample, standard library only.

Stands in for the SVM of Azure ML's pipeline_with_hyperparameter_sweep example: the
arguments have the same names, and it reports `training_f1_score` once per epoch as
`name=value` lines, which Sweep reads from stdout.
"""
import argparse
import csv
import json
import math
import os


def kernel(name, x, c, C, degree, coef0):
    if name == "linear":
        return sum(a * b for a, b in zip(x, c)) / C
    if name == "poly":
        return (sum(a * b for a, b in zip(x, c)) / (10.0 * C) + coef0) ** degree
    dist = sum((a - b) ** 2 for a, b in zip(x, c))
    return math.exp(-dist / (2.0 * C))


def distance(args, x, c):
    """The kernel-induced squared distance between a sample and a centroid."""
    k = lambda a, b: kernel(args.kernel, a, b, args.C, args.degree, args.coef0)
    return k(x, x) - 2.0 * k(x, c) + k(c, c)


def macro_f1(truth, predicted, labels):
    scores = []
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted) if t == label and p == label)
        fp = sum(1 for t, p in zip(truth, predicted) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted) if t == label and p != label)
        scores.append(0.0 if tp == 0 else 2.0 * tp / (2.0 * tp + fp + fn))
    return sum(scores) / len(scores)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--kernel", default="rbf")
    parser.add_argument("--degree", type=int, default=3)
    parser.add_argument("--coef0", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--model_output", required=True)
    args = parser.parse_args()

    with open(args.data) as f:
        rows = list(csv.DictReader(f))
    features = [[float(r[k]) for k in r if k != "species"] for r in rows]
    labels = [r["species"] for r in rows]
    classes = sorted(set(labels))

    f1 = 0.0
    for epoch in range(1, args.epochs + 1):
        # Each epoch estimates the centroids from a larger share of the data.
        seen = [i for i in range(len(rows)) if i % args.epochs < epoch]
        centroids = {}
        for label in classes:
            members = [features[i] for i in seen if labels[i] == label]
            centroids[label] = [sum(col) / len(members) for col in zip(*members)]
        predicted = [min(classes, key=lambda c: distance(args, x, centroids[c])) for x in features]
        f1 = macro_f1(labels, predicted, classes)
        print(f"epoch={epoch} training_f1_score={f1:.6f}", flush=True)

    os.makedirs(args.model_output, exist_ok=True)
    with open(os.path.join(args.model_output, "model.json"), "w") as f:
        json.dump({"kernel": args.kernel, "C": args.C, "degree": args.degree,
                   "coef0": args.coef0, "centroids": centroids, "training_f1_score": f1}, f)


if __name__ == "__main__":
    main()
