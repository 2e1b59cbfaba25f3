#!/usr/bin/env python3
"""Quickstart training script: a small neural network on generated data.

Pure Python (no numpy), so it runs with any python3. Trains a one-hidden-layer
network on the two-moons problem with mini-batch SGD and reports, once per epoch,
a line Sweep parses:  epoch=3 loss=0.41 accuracy=0.87
The trained weights go to outputs/model.json (the trial's artifacts).
"""
import argparse
import json
import math
import os
import random


def make_moons(n, noise, rng):
    points = []
    for i in range(n):
        label = i % 2
        t = rng.random() * math.pi
        if label == 0:
            x, y = math.cos(t), math.sin(t)
        else:
            x, y = 1 - math.cos(t), 0.5 - math.sin(t)
        points.append((x + rng.gauss(0, noise), y + rng.gauss(0, noise), label))
    return points


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--l2", type=float, default=0.0)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    data_rng = random.Random(1234)  # the data set is the same for every trial
    data = make_moons(args.samples, 0.2, data_rng)
    split = int(0.75 * len(data))
    train, test = data[:split], data[split:]

    rng = random.Random(42)
    h = args.hidden
    w1 = [[rng.gauss(0, 1.0) for _ in range(2)] for _ in range(h)]
    b1 = [0.0] * h
    w2 = [rng.gauss(0, 1.0 / math.sqrt(h)) for _ in range(h)]
    b2 = 0.0

    def forward(x, y):
        hidden = [math.tanh(w[0] * x + w[1] * y + b) for w, b in zip(w1, b1)]
        z = sum(a * w for a, w in zip(hidden, w2)) + b2
        z = max(-30.0, min(30.0, z))
        return hidden, 1.0 / (1.0 + math.exp(-z))

    for epoch in range(1, args.epochs + 1):
        rng.shuffle(train)
        total_loss = 0.0
        for start in range(0, len(train), args.batch):
            batch = train[start:start + args.batch]
            g_w1 = [[0.0, 0.0] for _ in range(h)]
            g_b1 = [0.0] * h
            g_w2 = [0.0] * h
            g_b2 = 0.0
            for x, y, label in batch:
                hidden, p = forward(x, y)
                total_loss -= math.log(max(p if label else 1 - p, 1e-12))
                d_out = p - label
                g_b2 += d_out
                for j in range(h):
                    g_w2[j] += d_out * hidden[j]
                    d_hidden = d_out * w2[j] * (1 - hidden[j] ** 2)
                    g_w1[j][0] += d_hidden * x
                    g_w1[j][1] += d_hidden * y
                    g_b1[j] += d_hidden
            scale = args.lr / len(batch)
            for j in range(h):
                w2[j] -= scale * g_w2[j] + args.lr * args.l2 * w2[j]
                w1[j][0] -= scale * g_w1[j][0] + args.lr * args.l2 * w1[j][0]
                w1[j][1] -= scale * g_w1[j][1] + args.lr * args.l2 * w1[j][1]
                b1[j] -= scale * g_b1[j]
            b2 -= scale * g_b2
        correct = sum(1 for x, y, label in test if (forward(x, y)[1] >= 0.5) == bool(label))
        accuracy = correct / len(test)
        print(f"epoch={epoch} loss={total_loss / len(train):.4f} accuracy={accuracy:.4f}",
              flush=True)

    outputs = os.environ.get("SWEEP_OUTPUTS_DIR", "outputs")
    os.makedirs(outputs, exist_ok=True)
    with open(os.path.join(outputs, "model.json"), "w") as f:
        json.dump({"w1": w1, "b1": b1, "w2": w2, "b2": b2, "hidden": h}, f)


if __name__ == "__main__":
    main()
