r"""Named recipes: the settings of the style-transfer set-ups that circulate most, made runnable here.

A preset is an `Objective` (what to match) and a `Run` (how to optimise) holding its source's layers
and weights, rewritten in this library's per-term normalisation (see `stylelib.losses`) but *not*
scale-free (`scale_free=False`): $G = F F^\top / M$, per-layer style loss
$\ell_l = \frac{1}{N^2}\sum_{ij}(G_{ij}-A_{ij})^2$, content loss $\frac{1}{NM}\sum(F-P)^2$, objective
$\alpha\sum\mathcal{L}_\text{content} + \beta \sum_l w_l \ell_l + \lambda_\text{TV}\mathrm{TV}$.
How each source's numbers were converted is written next to it. Layer names are the papers'
(`conv2_2` is pre-ReLU, `relu2_2` post-ReLU; a Keras `block5_conv2` includes its ReLU, so it is `relu5_2`).

What a preset reproduces: the layers, the layer weights, α, β and λ_TV (exactly, on a network of the
source's input convention), the optimizer with its settings and its loop (the plain schedule: the pixels,
torch's own steps, fp32), the step count and size. What it does not:
the source's network weights (the offline backbone is a VGG16, the sources used VGG19 except
Johnson et al.), Gatys' normalised VGG19 (rescaled so each filter's mean activation is 1;
`normalized` does it to a given model), Gatys' average pooling (pass `vgg(pooling="avg")`),
the white-noise initialisation of Gatys et al. (presets start from the photo; pass `init="noise"`),
Johnson et al.'s paper's content layer (relu2_2; the preset uses relu3_3, their later code's default),
and the clamping of pixels in the TensorFlow tutorial and the PyTorch tutorial (a smooth range penalty
keeps them in [0, 1] here).

Weights are stated for the input convention of the network the source used ("caffe": BGR 0–255
minus the mean; "torchvision": RGB normalised by ImageNet mean/std). A Caffe-convention network's
features are about `CONVENTION_SCALE` times larger (taken as the ratio of the input scales,
255 × the ImageNet std; torchvision's own weights cannot be downloaded here to measure it). With
features scaled by s, the content term scales by s², the style term by s⁴ and TV by s⁰, so on the
other convention β is divided by s² and λ_TV multiplied by s² (α stays): the terms keep their balance.
"""
import copy
from dataclasses import dataclass, field
from types import MappingProxyType

import torch

from .errors import SettingsError
from .features import VGGFeatures
from .images import as_image
from .layers import channels as _n
from .objective import Objective
from .transfer import Run, stylize

__all__ = ["CONVENTION_SCALE", "Preset", "PRESETS", "preset", "GATYS_2016", "PYTORCH_TUTORIAL",
           "TENSORFLOW_TUTORIAL", "JOHNSON_2016", "normalized"]

CONVENTION_SCALE = 255 * 0.226  # caffe features / torchvision features (see the module docstring)


@dataclass(frozen=True)
class Preset:
    """One published recipe: its objective and run in this library's terms, and where they come from."""

    name: str
    source: str
    network: str  # the network the source used
    convention: str  # input convention its weights assume: "caffe" or "torchvision"
    objective: Objective  # scale_free=False; β and λ_TV before any size-dependent factor
    run: Run = field(default_factory=Run)
    steps: int = 300
    size: int = 512
    pooling: str = "max"  # what the source used; stylize uses the model it is given (sl.vgg(pooling="avg"))
    conversion: str = ""
    size_dependent: str = ""  # "content_sum" (Gatys' ½Σ content loss) or "tv_sum" (TF's summed TV)

    def settings(self, model=None, size: int | None = None, shape=None) -> dict:
        """Keyword arguments for `stylize` (objective, run, steps, size), for `model`'s input
        convention and the content `shape` (H, W) (needed where the source summed over pixels)."""
        o = self.objective
        style_weight, tv_weight = o.style_weight, o.tv_weight
        if self.size_dependent:
            if shape is None:
                raise SettingsError(f"preset {self.name!r} sums over pixels: give the content image shape (H, W)")
            h, w = shape[-2:]
            if self.size_dependent == "content_sum":  # N·M of the content layer (block 4: 3 poolings)
                style_weight /= 2 * _n(o.content_layers[0]) * (h // 8) * (w // 8)
            else:  # tf.image.total_variation sums |Δ| over 3 channels of the (H-1)(W-1) grid
                tv_weight *= 3 * (h - 1) * (w - 1)
        if model is not None and model.normalize.convention != self.convention:
            s = CONVENTION_SCALE if model.normalize.convention == "caffe" else 1 / CONVENTION_SCALE
            style_weight, tv_weight = style_weight / s**2, tv_weight * s**2
        return dict(objective=o.replace(style_weight=style_weight, tv_weight=tv_weight), run=self.run,
                    steps=self.steps, size=self.size if size is None else size)

    def describe(self) -> str:
        """The recipe in a few lines, for printing next to its result."""
        o, r = self.objective, self.run
        weights = ", ".join(f"{k} {v:.3g}" for k, v in o.weights().items())
        options = f" {dict(r.optimizer_options)}" if r.optimizer_options else ""
        return (f"{self.name} — {self.source} ({self.network}, {self.convention} inputs)\n"
                f"  content {', '.join(o.content_layers)} (α = {o.content_weight:g}); style β = {o.style_weight:.4g}"
                f"{' / (2·N·M)' if self.size_dependent == 'content_sum' else ''} × [{weights}]\n"
                f"  TV {o.tv_weight:.4g}{' × 3(H-1)(W-1)' if self.size_dependent == 'tv_sum' else ''} ({o.tv}); "
                f"{r.optimizer} lr {r.lr if r.lr is not None else 'default'}{options}, {r.schedule} schedule; "
                f"{self.steps} steps at {self.size} px; the source used {self.pooling} pooling\n"
                f"  conversion: {self.conversion}")

    def stylize(self, content, style, model=None, size: int | None = None, **changes):
        """`stylize` with this recipe; `changes` (e.g. steps, or any Objective/Run field) replace single settings."""
        content = as_image(content, self.size if size is None else size)
        settings = self.settings(model, max(content.shape[-2:]), content.shape)
        steps = changes.pop("steps", settings.pop("steps"))
        return stylize(content, style, model=model, steps=steps, **settings, **changes)


GATYS_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

GATYS_2016 = Preset(
    name="gatys2016",
    source="Gatys, Ecker & Bethge, Image Style Transfer Using CNNs (CVPR 2016)",
    network="VGG19 (Caffe), normalised", convention="caffe",
    objective=Objective(content_layers=("relu4_2",), style_layers=GATYS_STYLE, scale_free=False,
                        layer_weights={name: 1 / 5 for name in GATYS_STYLE},
                        style_weight=1e3),  # β/α = 10³ (α/β = 10⁻³ in most figures)
    run=Run(optimizer="lbfgs", schedule="plain"), steps=500, size=512, pooling="avg",
    conversion="paper: α·½Σ(F−P)² + β·Σ w_l E_l with E_l = Σ(G'−A')²/(4N²M²), G' = FFᵀ. Here E_l = ours/4 and "
               "½Σ(F−P)² = (N·M/2)·ours, so β_here = (β/α)/(2·N·M) with N·M of relu4_2: it depends on the image "
               "size. The paper used average pooling (pass a model built with pooling='avg'), a VGG19 whose "
               "filters were rescaled to mean activation 1 (presets.normalized), and white-noise initialisation "
               "(init='noise'): not reproduced by the preset itself.",
    size_dependent="content_sum",
)

TUTORIAL_STYLE = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")

PYTORCH_TUTORIAL = Preset(
    name="pytorch_tutorial",
    source="PyTorch tutorial 'Neural Transfer Using PyTorch' (content_layers ['conv_4'], style ['conv_1'…'conv_5'])",
    network="VGG19 (torchvision)", convention="torchvision",
    # its conv_i counts convolutions in order, so conv_4 is conv2_2 and conv_1…conv_5 are
    # conv1_1, conv1_2, conv2_1, conv2_2, conv3_1: shallow, pre-ReLU layers
    objective=Objective(content_layers=("conv2_2",), style_layers=TUTORIAL_STYLE, scale_free=False,
                        layer_weights={name: 1 / _n(name) ** 2 for name in TUTORIAL_STYLE}, style_weight=1e6),
    run=Run(optimizer="lbfgs", lr=1.0, schedule="plain"), steps=300, size=512,
    conversion="tutorial: Gram divided by N·M (= ours/N), F.mse_loss (mean over N² entries), summed over "
               "layers, style_weight 1e6, content mse with weight 1; so w_l = 1/N_l² and β = 1e6. It clamps "
               "pixels inside the closure; here a smooth range penalty keeps them in [0, 1].",
)

TF_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

TENSORFLOW_TUTORIAL = Preset(
    name="tensorflow_tutorial",
    source="TensorFlow tutorial 'Neural style transfer' (content block5_conv2, style block1_conv1…block5_conv1)",
    network="VGG19 (Keras)", convention="caffe",
    # The tutorial's own loss scale is kept (α = 1e4, not divided out): Adam's ε = 0.1 is an absolute
    # number compared with the gradient, so dividing the loss by 1e4 would shrink every step ~30×.
    objective=Objective(content_layers=("relu5_2",), style_layers=TF_STYLE, scale_free=False,  # Keras convs include their ReLU
                        layer_weights={name: 1 / 5 for name in TF_STYLE},
                        content_weight=1e4, style_weight=1e-2, tv_weight=30, tv="anisotropic"),
    run=Run(optimizer="adam", lr=0.02, schedule="plain", optimizer_options=MappingProxyType({"betas": (0.99, 0.999), "eps": 0.1})),
    steps=1000, size=512,
    conversion="tutorial: Gram / M (= ours), mean squared error per layer averaged over the 5 layers, "
               "style_weight 1e-2, content mean squared error × 1e4, tf.image.total_variation (a sum over "
               "pixels and channels) × 30, i.e. λ_TV = 30 × 3(H−1)(W−1) on our mean TV. Keras Adam(0.02, "
               "beta_1=0.99, epsilon=0.1) adds epsilon before bias correction; PyTorch's eps=0.1 matches it "
               "once 0.999^t is small. The tutorial clips pixels after each step.",
    size_dependent="tv_sum",
)

JOHNSON_STYLE = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

JOHNSON_2016 = Preset(
    name="johnson2016",
    source="Johnson, Alahi & Fei-Fei, Perceptual Losses for Real-Time Style Transfer (ECCV 2016), reference code",
    network="VGG16 (Caffe)", convention="caffe",
    # the paper puts content at relu2_2; relu3_3 is the default of its later reference code
    objective=Objective(content_layers=("relu3_3",), style_layers=JOHNSON_STYLE, scale_free=False,
                        layer_weights={name: 1 / _n(name) ** 2 for name in JOHNSON_STYLE}, style_weight=5.0),
    run=Run(optimizer="lbfgs", lr=1.0, schedule="plain"), steps=500, size=512,
    conversion="reference code (fast-neural-style): Gram divided by C·H·W (= ours/N) compared by mean "
               "squared error, summed over layers with style weight 5 and content weight 1 (mean squared "
               "error, = ours); so w_l = 1/N_l² and β = 5. Content at relu3_3 as in that code (the paper: "
               "relu2_2). TV weight 0 here (the paper tuned 1e-6…1e-4 per style).",
)


PRESETS = MappingProxyType({p.name: p for p in (GATYS_2016, PYTORCH_TUTORIAL, TENSORFLOW_TUTORIAL, JOHNSON_2016)})


def preset(name: str) -> Preset:
    """A preset by name; the error lists the names."""
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


@torch.no_grad()
def normalized(model: VGGFeatures, images) -> VGGFeatures:
    """A copy of `model` rescaled as Gatys et al. (2016) normalised their VGG19: each ReLU channel's
    mean activation over `images` (a batch, or a list of images, RGB in [0, 1]) and their positions
    becomes 1. Each conv's filter and bias are divided by the mean m_c of its ReLU channel, and the next
    conv's input weights are multiplied by m_c, so every layer's output is the original divided by m_c
    channel by channel (ReLU and pooling commute with a positive per-channel scale): the network's
    function is unchanged up to that scaling. Channels never active on `images` are left as they are."""
    images = [images] if isinstance(images, torch.Tensor) else list(images)
    relus = [name for name in model.names if name.startswith("relu")]
    sums, counts = {name: 0.0 for name in relus}, {name: 0 for name in relus}
    for image in images:
        for name, f in model(image.to(next(model.parameters()).device), relus).items():
            sums[name] = sums[name] + f.sum(dim=(0, 2, 3))
            counts[name] += f.shape[0] * f.shape[2] * f.shape[3]
    result, previous = copy.deepcopy(model), None
    for name in relus:
        mean = sums[name] / counts[name]
        mean = torch.where(mean > 0, mean, torch.ones_like(mean))
        conv = result.body._modules["conv" + name[len("relu"):]]
        conv.weight.div_(mean.view(-1, 1, 1, 1))
        conv.bias.div_(mean)
        if previous is not None:
            conv.weight.mul_(previous.view(1, -1, 1, 1))
        previous = mean
    return result
