"""How far one evaluation is from the arithmetic limit: its convolution FLOPs against the device's peak.

    python bench/arithmetic.py --size 512 --device cpu

One evaluation (forward to the deepest loss layer, backward to the pixels) is dominated by the VGG's
3×3 convolutions. The weights are frozen, so the backward pass computes only the input gradients: the
forward's FLOPs again (tests/test_bench.py checks both counts against torch's FLOP counter). The peak
is measured, not looked up: a large matrix product in the precision the network runs in (bf16 where
`stylelib.precision` turns it on). The floor is FLOPs / peak; a 3× target is out of reach when
evaluations-to-target × floor already exceeds a third of the baseline's time.
"""
import argparse
import sys

import torch

from common import timed

import stylelib as sl  # after common, which puts the repo on sys.path
from stylelib import precision
from stylelib.objective import CONTENT_LAYERS, STYLE_LAYERS

LAYERS = [*CONTENT_LAYERS, *STYLE_LAYERS]


def conv_flops(model, size: int, layers=LAYERS) -> int:
    """FLOPs (2 per multiply-add) of the forward convolutions up to the deepest of `layers` on a size² image."""
    deepest = max(model.names.index(name) for name in layers)
    flops, side = 0, size
    for name in model.names[:deepest + 1]:
        module = model.body._modules[name]
        if name.startswith("conv"):
            kh, kw = module.kernel_size
            flops += 2 * side * side * module.in_channels * module.out_channels * kh * kw
        elif name.startswith("pool"):
            side //= 2
    return flops


def seconds(fn, device, repeats: int = 5) -> float:
    """Mean wall seconds of `fn()` after two warm-up calls."""
    for _ in range(2):
        fn()
    return sum(timed(fn, device)[0] for _ in range(repeats)) / repeats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    device = sl.runtime.device(args.device)
    model = sl.vgg(device=device, verbose=False)
    dtype = torch.bfloat16 if precision.in_force(device)["bf16"] else torch.float32
    a, b = (torch.randn(4096, 4096, device=device, dtype=dtype) for _ in range(2))
    tf32 = torch.backends.cuda.matmul.allow_tf32
    # cuDNN runs fp32 convolutions in TF32 by default (stylelib.precision): measure the product's peak the same way
    torch.backends.cuda.matmul.allow_tf32 = device.type == "cuda"
    try:
        peak = 2 * 4096 ** 3 / seconds(lambda: a @ b, device)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    features = precision.feature_fn(model, device)
    x = torch.rand(1, 3, args.size, args.size, device=device, requires_grad=True)

    def evaluation():
        x.grad = None
        sum(sl.gram_matrix(f).sum() for f in features(x, LAYERS).values()).backward()

    flops = 2 * conv_flops(model, args.size)  # forward + input-gradient backward
    measured = seconds(evaluation, device)
    print(f"{device}, {dtype}, {args.size}²: {flops / 1e9:.0f} GFLOP of convolutions per evaluation; "
          f"peak {peak / 1e12:.3f} TFLOP/s (4096³ product) → floor {1000 * flops / peak:.0f} ms; "
          f"measured {1000 * measured:.0f} ms per evaluation ({flops / measured / 1e12:.3f} TFLOP/s, "
          f"{flops / measured / peak:.0%} of the peak)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
