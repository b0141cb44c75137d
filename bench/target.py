"""Time to quality: how long until each impl's picture is as good as the baseline's after N evaluations.

    python bench/run.py --target-evals 300 --sizes 256 --device cpu --out bench/out/target256.json

The target is the total loss (content + style, the bench's one objective, by the one fp32
evaluator `Problem.losses`) of the baseline's image after `--target-evals` evaluations. Every impl
then runs from the same start, and after every evaluation its current image (upsampled to the final
size for coarse-to-fine) is scored by the evaluator. The clock stops while scoring, so the seconds are
those of the optimisation alone (targets built and network loaded before the clock starts). Checking
after every evaluation puts `seconds_to_target` within one evaluation of the truth (< 1% at 300).
"""
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F

import baseline as tutorial
from common import PeakRSS, Problem, with_precision

import stylelib as sl


class Stop(Exception):
    """Raised from a callback to end a run that reached its target or its time budget."""


class Watch:
    """Scores the current image after every evaluation; the clock excludes the scoring."""

    def __init__(self, problem, target: float | None, max_seconds: float):
        self.problem, self.target, self.max_seconds = problem, target, max_seconds
        self.curve = []  # (seconds, evaluations, total loss)
        self.start, self.paused = time.perf_counter(), 0.0

    def seconds(self) -> float:
        return time.perf_counter() - self.start - self.paused

    @contextmanager
    def paused_clock(self):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.paused += time.perf_counter() - t

    def check(self, evals: int, image: torch.Tensor) -> None:
        seconds = self.seconds()
        with self.paused_clock():
            image = image.detach().clamp(0, 1)
            if image.shape[-2:] != self.problem.content.shape[-2:]:
                image = F.interpolate(image, size=self.problem.content.shape[-2:], mode="bilinear", align_corners=False)
            self.last = self.problem.losses(image)  # (style, content) of the newest image
            loss = sum(self.last)
            self.curve.append((seconds, evals, loss))
        if (self.target is not None and loss <= self.target) or seconds > self.max_seconds:
            raise Stop

    def first_at_target(self):
        return next(((s, n) for s, n, loss in self.curve if loss <= self.target), (None, None))

    def loss_at(self, seconds: float):
        """The best loss reached within `seconds` (None if nothing was checked by then)."""
        reached = [loss for s, _, loss in self.curve if s <= seconds]
        return min(reached) if reached else None


# --- the impls: each gets N = --target-evals; the baseline runs N evaluations, the others run until
# `watch` stops them (target reached, or twice the baseline's time spent) -------------------------

def baseline(problem, model, watch, target_evals):
    tutorial.run_style_transfer(model, problem.content, problem.style, problem.content.clone(), target_evals,
                                problem.content_layers, problem.style_layers, problem.style_weight,
                                on_eval=lambda n, loss, image: watch.check(n, image))


def stylelib_with(**settings):
    """stylelib's `stylize` with the bench's objective and the given settings (none: the default schedule)."""
    def run(problem, model, watch, target_evals):
        count = [0]

        def callback(step, image, result):
            count[0] += 1
            watch.check(count[0], image)

        sl.stylize(problem.content, problem.style, problem.objective, size=problem.size, steps=100 * target_evals,
                   model=model, device=problem.device, callback=callback, every=1, progress=False, **settings)
    return run


def multiscale(levels: int, share: float):
    """Coarse-to-fine: `share`·N steps on each coarser level, then full size until stopped."""
    def run(problem, model, watch, target_evals):
        count = [0]

        def callback(step, image, result):
            count[0] += 1
            watch.check(count[0], image)

        coarse = max(1, round(target_evals * share))
        sl.stylize_multiscale(problem.content, problem.style, size=problem.size, levels=levels,
                              steps=[coarse] * (levels - 1) + [100 * target_evals], objective=problem.objective,
                              model=model, device=problem.device, callback=callback, every=1, progress=False)
    return run


IMPLS = {
    "baseline": baseline,
    "stylelib": stylelib_with(),  # the default pyramid schedule (sized first step, capped steps, bf16 where native)
    "stylelib-fp32": with_precision(stylelib_with(), bf16=False),  # the pyramid schedule's optimisation alone
    "stylelib-plain": stylelib_with(schedule="plain"),  # the textbook loop (the default before issue 14)
    "stylelib-ramp": stylelib_with(style_ramp=60),  # the default and a style-weight ramp (opt-in: Objective.style_ramp)
    "stylelib-adam": stylelib_with(optimizer="adam"),
    "stylelib-multiscale": multiscale(levels=2, share=0.3),
}


def time_to_target(impls, size: int, target_evals: int, device, budgets=(30, 60, 120, 240), slack: float = 2.0,
                   log=print) -> list[dict]:
    """One row per impl: seconds and evaluations to the baseline's loss after `target_evals` evaluations."""
    model = sl.vgg(device=device, verbose=False)
    problem = Problem(model, size, device)
    rows, target, limit = [], None, float("inf")
    for impl in impls:  # the baseline first: its run sets the target and the time limit of the others
        watch = Watch(problem, target, limit)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        with PeakRSS() as rss:
            try:
                IMPLS[impl](problem, model, watch, target_evals)
            except Stop:
                pass
        if impl == "baseline":
            target, limit = watch.curve[-1][2], slack * watch.curve[-1][0]
        watch.target = target
        seconds, evals = watch.first_at_target()
        last = watch.curve[-1]
        rows.append({"impl": impl, "device": str(device), "size": size, "evals": last[1],
                     "ms_per_eval": 1000 * last[0] / last[1],
                     "peak_mem_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else rss.mb,
                     "style_loss": watch.last[0], "content_loss": watch.last[1],
                     "target_evals": target_evals, "target_loss": target,
                     "seconds_to_target": seconds, "evals_to_target": evals, "final_loss": last[2],
                     "loss_at": {str(b): watch.loss_at(b) for b in budgets},
                     "curve": [(round(s, 3), n, loss) for s, n, loss in watch.curve]})
        log(f"{impl:>22} {size}px: target {target:.4g} "
            + (f"reached after {seconds:.1f} s, {evals} evaluations" if seconds is not None
               else f"not reached in {last[0]:.0f} s ({last[2]:.4g})"))
    base = rows[0]["seconds_to_target"] if rows and rows[0]["impl"] == "baseline" else None
    for row in rows:
        row["speedup_to_target"] = (base / row["seconds_to_target"]) if base and row["seconds_to_target"] else None
    return rows


def table(rows) -> str:
    lines = ["| impl | size | target (baseline loss after N evals) | seconds to target | evals to target | "
             "speed-up to target | ms/eval | " + " | ".join(f"loss at {b} s" for b in rows[0]["loss_at"]) + " |",
             "|---|---|---|---|---|---|---|" + "---|" * len(rows[0]["loss_at"])]
    fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
    for r in rows:
        lines.append(f"| {r['impl']} | {r['size']}² | {r['target_loss']:.4g} (N = {r['target_evals']}) | "
                     f"{fmt(r['seconds_to_target'], '.1f')} | {fmt(r['evals_to_target'], 'd')} | "
                     f"{fmt(r['speedup_to_target'], '.2f')}{'×' if r['speedup_to_target'] else ''} | "
                     f"{r['ms_per_eval']:.0f} | " + " | ".join(fmt(v, ".4g") for v in r["loss_at"].values()) + " |")
    return "\n".join(lines) + "\n"


def plot(rows, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        seconds, _, losses = zip(*r["curve"])
        ax.plot(seconds, losses, label=r["impl"])
    ax.axhline(rows[0]["target_loss"], color="grey", linestyle="--", label="target")
    ax.set_yscale("log")
    ax.set_xlabel("seconds of optimisation (scoring excluded)")
    ax.set_ylabel("total loss, one fp32 evaluator (log scale)")
    ax.set_title(f"Time to quality at {rows[0]['size']}² on {rows[0]['device']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
