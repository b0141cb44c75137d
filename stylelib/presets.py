r"""Named recipes: the settings of the style-transfer set-ups that circulate most, made runnable here.

Each preset is a frozen `Preset` holding exactly the layers and weights its source uses, already
rewritten in this library's loss normalisation (see `stylelib.losses`):
$G = F F^\top / M$, per-layer style loss $E_l = \frac{1}{N^2}\sum_{ij}(G_{ij}-A_{ij})^2$,
content loss $\frac{1}{NM}\sum(F-P)^2$, style term $\beta \sum_l w_l E_l$ with content weight $\alpha=1$.
How each source's numbers were converted is written next to it. Layer names are the papers'
(`conv2_2` is pre-ReLU, `relu2_2` post-ReLU; a Keras `block5_conv2` includes its ReLU, so it is `relu5_2`).

Weights are stated for the input convention of the network the source used ("caffe": BGR 0–255
minus the mean; "torchvision": RGB normalised by ImageNet mean/std). Features of the two differ
in scale, so on a backbone of the other convention the style weight is multiplied by the ratio of
this library's calibrated defaults (`transfer.DEFAULT_STYLE_WEIGHT`); other weights are kept.
"""
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import SettingsError
from .images import as_image
from .transfer import DEFAULT_STYLE_WEIGHT, stylize

CHANNELS = {"1": 64, "2": 128, "3": 256, "4": 512, "5": 512}  # N of conv/relu block k


def _n(layer: str) -> int:
    """Channel count N of a VGG layer from its name (conv3_1 → 256)."""
    return CHANNELS[layer[4]]


@dataclass(frozen=True)
class Preset:
    """One published recipe in this library's normalisation; `settings()` gives `stylize` arguments."""

    name: str
    source: str
    network: str  # the network the source used
    convention: str  # input convention its weights assume: "caffe" or "torchvision"
    content_layers: tuple
    style_layers: tuple
    layer_weights: MappingProxyType  # w_l per style layer
    style_weight: float  # β (content weight α = 1), before any size-dependent factor
    tv_weight: float = 0.0
    tv: str = "isotropic"
    optimizer: str = "lbfgs"
    lr: float | None = None
    optimizer_options: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    steps: int = 300
    size: int = 512
    pooling: str = "max"
    conversion: str = ""
    size_dependent: str = ""  # "content_sum" (Gatys' ½Σ content loss) or "tv_sum" (TF's summed TV)

    def settings(self, model=None, size: int | None = None, shape=None) -> dict:
        """Keyword arguments for `stylize`, for `model`'s input convention and the content `shape`
        (H, W) (needed where the source summed over pixels instead of averaging)."""
        style_weight, tv_weight = self.style_weight, self.tv_weight
        if self.size_dependent:
            if shape is None:
                raise SettingsError(f"preset {self.name!r} sums over pixels: give the content image shape (H, W)")
            h, w = shape[-2:]
            if self.size_dependent == "content_sum":  # N·M of the content layer (block 4: 3 poolings)
                style_weight /= 2 * _n(self.content_layers[0]) * (h // 8) * (w // 8)
            else:  # tf.image.total_variation sums |Δ| over 3 channels of the (H-1)(W-1) grid
                tv_weight *= 3 * (h - 1) * (w - 1)
        if model is not None and model.normalize.convention != self.convention:
            style_weight *= DEFAULT_STYLE_WEIGHT[model.normalize.convention] / DEFAULT_STYLE_WEIGHT[self.convention]
        return dict(content_layers=self.content_layers, style_layers=self.style_layers,
                    layer_weights=dict(self.layer_weights), content_weight=1.0, style_weight=style_weight,
                    tv_weight=tv_weight, tv=self.tv, optimizer=self.optimizer, lr=self.lr,
                    optimizer_options=dict(self.optimizer_options) or None, steps=self.steps,
                    size=self.size if size is None else size, init="content")

    def describe(self) -> str:
        """The recipe in a few lines, for printing next to its result."""
        weights = ", ".join(f"{k} {v:.3g}" for k, v in self.layer_weights.items())
        options = f" {dict(self.optimizer_options)}" if self.optimizer_options else ""
        return (f"{self.name} — {self.source} ({self.network}, {self.convention} inputs)\n"
                f"  content {', '.join(self.content_layers)} (α = 1); style β = {self.style_weight:.4g}"
                f"{' / (2·N·M)' if self.size_dependent == 'content_sum' else ''} × [{weights}]\n"
                f"  TV {self.tv_weight:.4g}{' × 3(H-1)(W-1)' if self.size_dependent == 'tv_sum' else ''} ({self.tv}); "
                f"{self.optimizer} lr {self.lr if self.lr is not None else 'default'}{options}; "
                f"{self.steps} steps at {self.size} px; {self.pooling} pooling\n"
                f"  conversion: {self.conversion}")

    def run(self, content, style, model=None, size: int | None = None, **overrides):
        """`stylize` with this recipe; `overrides` (e.g. steps) replace single settings."""
        content = as_image(content, self.size if size is None else size)
        settings = {**self.settings(model, max(content.shape[-2:]), content.shape), **overrides}
        return stylize(content, style, model=model, **settings)


GATYS_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

GATYS_2016 = Preset(
    name="gatys2016",
    source="Gatys, Ecker & Bethge, Image Style Transfer Using CNNs (CVPR 2016)",
    network="VGG19 (Caffe)", convention="caffe",
    content_layers=("relu4_2",), style_layers=GATYS_STYLE,
    layer_weights=MappingProxyType({name: 1 / 5 for name in GATYS_STYLE}),
    style_weight=1e3,  # β/α = 10³ (α/β = 10⁻³ in most figures)
    optimizer="lbfgs", steps=500, size=512, pooling="max",
    conversion="paper: α·½Σ(F−P)² + β·Σ w_l E_l with E_l = Σ(G'−A')²/(4N²M²), G' = FFᵀ. Here E_l = ours/4 and "
               "½Σ(F−P)² = (N·M/2)·ours, so β_here = (β/α)/(2·N·M) with N·M of relu4_2: it depends on the image "
               "size. The paper prefers average pooling (pass a model built with pooling='avg').",
    size_dependent="content_sum",
)

TUTORIAL_STYLE = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")

PYTORCH_TUTORIAL = Preset(
    name="pytorch_tutorial",
    source="PyTorch tutorial 'Neural Transfer Using PyTorch' (content_layers ['conv_4'], style ['conv_1'…'conv_5'])",
    network="VGG19 (torchvision)", convention="torchvision",
    # its conv_i counts convolutions in order, so conv_4 is conv2_2 and conv_1…conv_5 are
    # conv1_1, conv1_2, conv2_1, conv2_2, conv3_1: shallow, pre-ReLU layers
    content_layers=("conv2_2",), style_layers=TUTORIAL_STYLE,
    layer_weights=MappingProxyType({name: 1 / _n(name) ** 2 for name in TUTORIAL_STYLE}),
    style_weight=1e6,
    optimizer="lbfgs", lr=1.0, steps=300, size=512,
    conversion="tutorial: Gram divided by N·M (= ours/N), F.mse_loss (mean over N² entries), summed over "
               "layers, style_weight 1e6, content mse with weight 1; so w_l = 1/N_l² and β = 1e6. It clamps "
               "pixels inside the closure; here a smooth range penalty keeps them in [0, 1].",
)

TF_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

TENSORFLOW_TUTORIAL = Preset(
    name="tensorflow_tutorial",
    source="TensorFlow tutorial 'Neural style transfer' (content block5_conv2, style block1_conv1…block5_conv1)",
    network="VGG19 (Keras)", convention="caffe",
    content_layers=("relu5_2",), style_layers=TF_STYLE,  # Keras convs include their ReLU
    layer_weights=MappingProxyType({name: 1 / 5 for name in TF_STYLE}),
    style_weight=1e-2 / 1e4,  # style_weight 1e-2 over content_weight 1e4
    tv_weight=30 / 1e4, tv="anisotropic",  # total_variation_weight 30 over content_weight 1e4
    optimizer="adam", lr=0.02, optimizer_options=MappingProxyType({"betas": (0.99, 0.999), "eps": 0.1}),
    steps=1000, size=512,
    conversion="tutorial: Gram / M (= ours), mean squared error per layer averaged over the 5 layers, "
               "style_weight 1e-2, content mean squared error × 1e4, tf.image.total_variation (a sum over "
               "pixels and channels) × 30; dividing by the content weight gives β = 1e-6 and TV 3e-3 × "
               "3(H−1)(W−1). Keras Adam(0.02, beta_1=0.99, epsilon=0.1) adds epsilon before bias correction; "
               "PyTorch's eps=0.1 matches it once 0.999^t is small. The tutorial clips pixels after each step.",
    size_dependent="tv_sum",
)

JOHNSON_STYLE = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

JOHNSON_2016 = Preset(
    name="johnson2016",
    source="Johnson, Alahi & Fei-Fei, Perceptual Losses for Real-Time Style Transfer (ECCV 2016)",
    network="VGG16 (Caffe)", convention="caffe",
    content_layers=("relu3_3",), style_layers=JOHNSON_STYLE,
    layer_weights=MappingProxyType({name: 1 / _n(name) ** 2 for name in JOHNSON_STYLE}),
    style_weight=5.0, tv_weight=0.0,
    optimizer="lbfgs", lr=1.0, steps=500, size=512,
    conversion="reference code (fast-neural-style): Gram divided by C·H·W (= ours/N) compared by mean "
               "squared error, summed over layers with style weight 5 and content weight 1 (mean squared "
               "error, = ours); so w_l = 1/N_l² and β = 5. TV weight 0 here (the paper tuned 1e-6…1e-4 per style).",
)

PRESETS = MappingProxyType({p.name: p for p in (GATYS_2016, PYTORCH_TUTORIAL, TENSORFLOW_TUTORIAL, JOHNSON_2016)})


def preset(name: str) -> Preset:
    """A preset by name; the error lists the names."""
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
