"""Benchmark: a sweep of N style weights as one batch (bench/batch_sweep.py) against N sequential runs.

    python bench/sweep.py --size 128 --steps 20 --n 9 --device cpu --out bench/out/sweep.json

Both use Adam and the same settings; the batched run must reach the same losses (it follows the
same path, see bench/batch_sweep.py), so the report gives the time of each and the largest relative
difference of the final total losses. Runs alternate (sequential, batched, batched, sequential, …).
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

from common import PAIR, ROOT, square, timed
from batch_sweep import stylize_sweep  # after common, which puts the repo on sys.path

import stylelib as sl


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--n", type=int, default=9, help="number of style weights (log-spaced around the default)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "sweep.json"))
    args = p.parse_args(argv)
    device = sl.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = sl.vgg(device=device, verbose=False)
    content, style = square(PAIR[0], args.size, device), square(PAIR[1], args.size, device)
    default = sl.Objective().style_weight
    weights = [default * 10 ** (2 * (i / max(args.n - 1, 1)) - 1) for i in range(args.n)]  # 0.1× … 10×
    settings = dict(size=args.size, steps=args.steps, model=model, device=device, progress=False)

    def sequential():
        return [sl.stylize(content, style, style_weight=w, optimizer="adam", **settings) for w in weights]

    def batched():
        return stylize_sweep(content, style, weights, **settings)

    times, finals = {"sequential": [], "batched": []}, {}
    for repeat in range(args.repeats):
        for mode in (("sequential", "batched") if repeat % 2 == 0 else ("batched", "sequential")):
            seconds, results = timed(sequential if mode == "sequential" else batched, device)
            times[mode].append(seconds)
            finals[mode] = [r.final() for r in results]
            print(f"{mode:>10}: {seconds:.2f} s for {args.n} × {args.steps} steps at {args.size}²", flush=True)
    gap = max(abs(a - b) / abs(b) for a, b in zip(finals["batched"], finals["sequential"]))
    row = {"device": str(device), "size": args.size, "n": args.n, "steps": args.steps,
           "sequential_s": statistics.median(times["sequential"]), "batched_s": statistics.median(times["batched"]),
           "max_rel_diff_final_loss": gap}
    row["speedup"] = row["sequential_s"] / row["batched_s"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=1) + "\n")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
