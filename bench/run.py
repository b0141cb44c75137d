"""Benchmark: stylelib against the tutorial-style baseline (bench/baseline.py) on the same objective.

    python bench/run.py --sizes 256 512 --evals 50 --device cpu --out bench/out/cpu.json

Both implementations get the same network (one `stylelib.vgg()`), the
same layers and weights of the loss, and the same square content/style pair, and run the same
number of loss evaluations. Runs are interleaved (A B, then B A, …) in one process, `--repeats`
times per size. Written next to the JSON: a Markdown table (.md) and a plot (.png).

What is measured, per run:
- ms per evaluation: wall time from the start of evaluation 2 to the end of the run, divided by
  evals - 1. Setup (targets) and evaluation 1 (one-off costs: kernel selection, compilation) are
  left out; the first evaluation's time is reported on its own. The row holds the median over repeats.
- CPU ms per evaluation (process CPU time over the same span): less inflated than wall time when
  other programs share the CPU, so the ratio of the two impls is best read from it on a busy machine.
- peak memory: CUDA `max_memory_allocated` (weights included). CPU: the peak resident set size
  during the run minus the RSS just before it, sampled every 2 ms from /proc/self/statm by a
  thread, after `malloc_trim(0)` has handed the memory freed by earlier runs back to the OS (else
  the run would reuse it unseen). `ru_maxrss` is the process's lifetime high-water mark, so after
  the first large run it would report that run again; the trimmed, sampled difference is the
  memory this run needed, without a process (and a weight load) per run.
- final losses: the style and content terms (weighted as in stylelib) of each impl's final image,
  computed by one fp32 evaluator, so neither impl's own arithmetic (e.g. bf16) flatters it.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

import baseline
import target
from common import ROOT, PeakRSS, Problem, with_precision

import stylelib as sl  # after common, which puts the repo on sys.path
from stylelib import precision
from stylelib.features import InputNorm, VGGFeatures

ROW_KEYS = ("impl", "device", "size", "evals", "ms_per_eval", "peak_mem_mb", "style_loss", "content_loss")


# --- the implementations: each returns (final image, loss at evaluation 1) --------------------

def run_stylelib(problem, evals, model, **settings):
    result = sl.stylize(problem.content, problem.style, problem.objective, size=problem.size, steps=evals,
                        model=model, device=problem.device, progress=False, **settings)
    return result.image, result.history["total"][0]


def run_baseline(problem, evals, model):
    first = []
    image = baseline.run_style_transfer(
        model, problem.content, problem.style, problem.content.clone(), evals, problem.content_layers,
        problem.style_layers, problem.style_weight,
        on_eval=lambda n, loss, image: n == 1 and first.append(float(loss.detach())))
    return image.detach(), first[0]


class FullNetwork(VGGFeatures):
    """Runs to the network's last layer (pool5) whatever is asked, instead of stopping after it."""

    def forward(self, image, layers):
        layers = self.check_layers(layers)
        out = super().forward(image, [*layers, self.names[-1]])
        return {name: out[name] for name in layers}


class Compiled(VGGFeatures):
    """The forward through torch.compile (compilation happens in evaluation 1)."""

    forward = torch.compile(VGGFeatures.forward)


def variant(cls):
    """stylelib on a `cls` network with the same weights (made once per process and device)."""
    def run(problem, evals, model):
        key = (cls, str(problem.device))
        if key not in VARIANTS:
            net = cls(model.arch, model.normalize.convention, model.pooling)
            net.body.load_state_dict(model.body.state_dict())
            VARIANTS[key] = net.to(problem.device)
        return run_stylelib(problem, evals, VARIANTS[key])
    return run


VARIANTS = {}
IMPLS = {
    "stylelib": run_stylelib,
    "baseline": run_baseline,
    # ablations: one switch at a time, for bench/README.md
    "stylelib-plain": lambda problem, evals, model: run_stylelib(problem, evals, model, schedule="plain"),
    "stylelib-fp32": with_precision(run_stylelib, bf16=False, channels_last=False),
    "stylelib-bf16": with_precision(run_stylelib, bf16=True, channels_last=False),
    "stylelib-fp32-cl": with_precision(run_stylelib, bf16=False, channels_last=True),
    "stylelib-bf16-cl": with_precision(run_stylelib, bf16=True, channels_last=True),
    "stylelib-full-network": variant(FullNetwork),
    "stylelib-compile": variant(Compiled),
}


# --- measuring one run -------------------------------------------------------------------------

def measure(impl, problem, evals, model) -> dict:
    """One run: times at the start of every network pass (a global hook that sees the input
    normalisation, the first module of both impls and of stylelib's converted copies), memory,
    the first loss and the final losses."""
    stamps = []

    def stamp(module, args):
        if isinstance(module, InputNorm):
            stamps.append((time.perf_counter(), time.process_time()))

    hook = torch.nn.modules.module.register_module_forward_pre_hook(stamp)
    cuda = problem.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    try:
        with PeakRSS() as rss:
            image, first = IMPLS[impl](problem, evals, model)
            if cuda:
                torch.cuda.synchronize()
            end = (time.perf_counter(), time.process_time())
    finally:
        hook.remove()
    eval1, eval2 = stamps[-evals], stamps[-evals + 1]  # setup forwards come before the evaluations
    style_loss, content_loss = problem.losses(image)
    return {
        "ms_per_eval": 1000 * (end[0] - eval2[0]) / (evals - 1),
        "cpu_ms_per_eval": 1000 * (end[1] - eval2[1]) / (evals - 1),
        "first_eval_ms": 1000 * (eval2[0] - eval1[0]),
        "peak_mem_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else rss.mb,
        "loss_eval1": first, "style_loss": style_loss, "content_loss": content_loss,
    }


def benchmark(impls, sizes, evals, repeats, device, log=print, done=None) -> list[dict]:
    """Interleaved runs (the order flips every repeat); one row per impl and size, medians over
    repeats. `done(rows)` gets the rows so far after each size (long runs keep partial results)."""
    model = sl.vgg(device=device, verbose=False)
    runs = {}
    for size in sizes:
        problem = Problem(model, size, device)
        for repeat in range(repeats):
            for impl in (impls if repeat % 2 == 0 else impls[::-1]):
                run = measure(impl, problem, evals, model)
                runs.setdefault((impl, size), []).append(run)
                log(f"{impl:>22} {size:>5}px  repeat {repeat + 1}/{repeats}: {run['ms_per_eval']:8.1f} ms/eval "
                    f"(cpu {run['cpu_ms_per_eval']:.1f}), peak {run['peak_mem_mb']:.0f} MB, "
                    f"style {run['style_loss']:.4g}, content {run['content_loss']:.4g}")
        if done:
            done(summarize(runs, evals, device))
    return summarize(runs, evals, device)


def summarize(runs, evals, device) -> list[dict]:
    """One row per (impl, size): medians over its repeats, losses of its last run."""
    rows = []
    for (impl, size), repeats in runs.items():
        rows.append({
            "impl": impl, "device": str(device), "size": size, "evals": evals,
            "ms_per_eval": statistics.median(r["ms_per_eval"] for r in repeats),
            "peak_mem_mb": statistics.median(r["peak_mem_mb"] for r in repeats),
            "style_loss": repeats[-1]["style_loss"], "content_loss": repeats[-1]["content_loss"],
            "cpu_ms_per_eval": statistics.median(r["cpu_ms_per_eval"] for r in repeats),
            "first_eval_ms": statistics.median(r["first_eval_ms"] for r in repeats),
            "loss_eval1": repeats[-1]["loss_eval1"],
            "ms_per_eval_runs": [round(r["ms_per_eval"], 2) for r in repeats],
            "precision": precision.in_force(device) if impl == "stylelib" else None,
        })
    return rows


# --- reporting ---------------------------------------------------------------------------------

def table(rows) -> str:
    """Markdown table; speed-ups are against the baseline at the same size (wall and CPU time)."""
    base = {r["size"]: r for r in rows if r["impl"] == "baseline"}
    lines = ["| impl | device | size | evals | ms/eval | evals/s | speed-up | speed-up (CPU time) | peak MB "
             "| style loss | content loss |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["size"], r["impl"] != "baseline", r["impl"])):
        b = base.get(r["size"])
        up = f"{b['ms_per_eval'] / r['ms_per_eval']:.2f}×" if b else "–"
        cpu_up = f"{b['cpu_ms_per_eval'] / r['cpu_ms_per_eval']:.2f}×" if b else "–"
        lines.append(f"| {r['impl']} | {r['device']} | {r['size']}² | {r['evals']} | {r['ms_per_eval']:.0f} | "
                     f"{1000 / r['ms_per_eval']:.2f} | {up} | {cpu_up} | {r['peak_mem_mb']:.0f} | "
                     f"{r['style_loss']:.4g} | {r['content_loss']:.4g} |")
    return "\n".join(lines) + "\n"


def plot(rows, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for impl in dict.fromkeys(r["impl"] for r in rows):
        mine = sorted((r["size"], r["ms_per_eval"]) for r in rows if r["impl"] == impl)
        ax.plot(*zip(*mine), marker="o", label=impl)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("image size (px, square)")
    ax.set_ylabel("ms per loss evaluation (median, log scale)")
    ax.set_title(f"Style transfer: time per evaluation on {rows[0]['device']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(rows, out: Path) -> None:
    """The JSON rows, the Markdown table (.md) and the plot (.png) side by side."""
    out.write_text(json.dumps(rows, indent=1) + "\n")
    out.with_suffix(".md").write_text(table(rows))
    plot(rows, out.with_suffix(".png"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="square image sizes in px")
    p.add_argument("--evals", type=int, default=50, help="loss evaluations per run (≥ 2)")
    p.add_argument("--repeats", type=int, default=3, help="runs per impl and size (interleaved)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the best available)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--impls", nargs="+", default=["stylelib", "baseline"],
                   help=f"per-evaluation mode: {', '.join(IMPLS)}; target mode: see bench/target.py")
    p.add_argument("--out", default=str(ROOT / "bench" / "out" / "results.json"), help="JSON file to write")
    p.add_argument("--target-evals", type=int, default=None,
                   help="time-to-quality mode (bench/target.py): the target is the baseline's loss after this many "
                   "evaluations")
    p.add_argument("--budgets", type=float, nargs="+", default=[30, 60, 120, 240],
                   help="seconds at which to report the loss")
    args = p.parse_args(argv)
    if args.target_evals is not None:
        return target_mode(args)
    if set(args.impls) - set(IMPLS):
        p.error(f"unknown impl(s) {', '.join(sorted(set(args.impls) - set(IMPLS)))}: choose from {', '.join(IMPLS)}")
    if args.evals < 2 or args.repeats < 1 or min(args.sizes) < 32:
        p.error("need --evals ≥ 2, --repeats ≥ 1 and sizes ≥ 32")
    device = sl.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"device {device}, {torch.get_num_threads()} threads, stylelib switches {precision.in_force(device)}")
    rows = benchmark(args.impls, args.sizes, args.evals, args.repeats, device, done=lambda rows: write(rows, out))
    print(table(rows))
    print(f"wrote {out}, {out.with_suffix('.md')}, {out.with_suffix('.png')}")
    return 0


def target_mode(args) -> int:
    """`--target-evals N`: seconds until each impl first reaches the baseline's loss after N evaluations."""
    device = sl.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    impls = args.impls if args.impls != ["stylelib", "baseline"] else list(target.IMPLS)
    impls = ["baseline", *[i for i in impls if i != "baseline"]]
    unknown = [i for i in impls if i not in target.IMPLS]
    if unknown:
        raise SystemExit(f"error: --impls {', '.join(unknown)} not available in --target-evals mode: "
                         f"choose from {', '.join(target.IMPLS)}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"device {device}, {torch.get_num_threads()} threads")
    rows = [row for size in args.sizes
            for row in target.time_to_target(impls, size, args.target_evals, device, tuple(args.budgets))]
    out.write_text(json.dumps(rows, indent=1) + "\n")
    out.with_suffix(".md").write_text(target.table(rows))
    for size in args.sizes:
        target.plot([r for r in rows if r["size"] == size], out.with_name(f"{out.stem}_{size}.png"))
    print(target.table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
