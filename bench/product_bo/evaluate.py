"""Training command of the product-path benchmark: evaluates one benchmark function at
the parameters given on the command line and reports it as the primary metric.

    python3 evaluate.py --function branin --x1 2.5 --x2 7.0   ->   value=...
"""
import argparse

from bo_functions import FUNCTIONS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--function", required=True, choices=sorted(FUNCTIONS))
    args, rest = parser.parse_known_args()
    bounds, f, _ = FUNCTIONS[args.function]
    values = argparse.ArgumentParser()
    for i in range(len(bounds)):
        values.add_argument(f"--x{i + 1}", type=float, required=True)
    x = vars(values.parse_args(rest))
    print(f"value={f([x[f'x{i + 1}'] for i in range(len(bounds))])!r}", flush=True)


if __name__ == "__main__":
    main()
