r"""What the optimizer moves: the pixels themselves, or a pyramid of corrections to the start image.

In pixel space every L-BFGS step is shaped by the stiffest terms, the shallow style layers (relu1_1,
relu2_1), whose Gram matrices react to single pixels; the content layer and the deep style layers
ask for broad changes that pixel steps make slowly. `Pyramid` writes the image as
$x = x_0 + \sum_k 2^{-k}\, \mathrm{up}(p_k)$, one correction $p_k$ at each halving resolution down
to 16 px: a step in $p_k$ moves a $2^k \times 2^k$ block of pixels together, so broad changes cost
fewer steps (a preconditioner; Mordvintsev et al., "Differentiable Image Parameterizations",
Distill 2018). Same image, same loss, different coordinates; bench/README.md has what it saves.
"""
import torch
import torch.nn.functional as F

class Pixels:
    """The plain problem: the pixels are the parameters."""

    def __init__(self, start: torch.Tensor):
        self.params = [start.detach().clone().requires_grad_(True)]

    def image(self) -> torch.Tensor:
        return self.params[0]

    def change(self, steps) -> torch.Tensor:
        """The change of the image that a step of the parameters by `steps` makes."""
        return steps[0]


class Pyramid:
    """The image as the start plus corrections at halving resolutions (weights 1, 1/2, 1/4, …)."""

    def __init__(self, start: torch.Tensor, coarsest: int = 16, decay: float = 0.5):
        self.start = start.detach().clone()
        *batch, h, w = start.shape
        shapes = [(h, w)]
        while min(shapes[-1]) // 2 >= coarsest:
            shapes.append((-(-shapes[-1][0] // 2), -(-shapes[-1][1] // 2)))  # ceil, so odd sides keep every pixel
        self.weights = [decay ** k for k in range(len(shapes))]
        self.params = [start.new_zeros(*batch, s[0], s[1]).requires_grad_(True) for s in shapes]

    def change(self, steps) -> torch.Tensor:
        size = self.start.shape[-2:]
        return sum(w * (s if s.shape[-2:] == size else F.interpolate(s, size=size, mode="bilinear", align_corners=False))
                   for w, s in zip(self.weights, steps))

    def image(self) -> torch.Tensor:
        return self.start + self.change(self.params)


BASES = {"pixels": Pixels, "pyramid": Pyramid}  # name → class(start image), for optimize(basis=...)
