r"""What the optimizer moves, and how far one step may go: the pixels, or a pyramid of corrections.

The textbook loop (notebook 03) lets L-BFGS move the pixels and takes the step it proposes: that is
`Pixels`. In pixel space every step is shaped by the stiffest terms, the shallow style layers
(relu1_1, relu2_1), whose Gram matrices react to single pixels; the content layer and the deep style
layers ask for broad changes that pixel steps make slowly. `Pyramid` writes the image as
$x = x_0 + \sum_k 2^{-k}\, \mathrm{up}(p_k)$, one correction $p_k$ at each halving resolution down to
16 px: a step in $p_k$ moves a $2^k \times 2^k$ block of pixels together, so broad changes cost fewer
steps (a preconditioner; Mordvintsev et al., "Differentiable Image Parameterizations", Distill 2018).
Same image, same loss, different coordinates.

Departures from the paper's loop, both for L-BFGS only (Gatys et al. used L-BFGS on the pixels):
- a sized first step (`first_step`): torch's L-BFGS has no curvature yet at step 1 and steps along
  -g by 1/‖g‖₁, a change of about 1e-5 per pixel on a 256² image, an evaluation spent learning almost
  nothing; the first step is scaled so that the largest pixel change is `first_step`.
- capped steps (`max_change`): without a line search, L-BFGS takes the step its curvature model
  proposes; at step 2 that model rests on one curvature pair and overshoots (the loss jumped 10–1000×,
  in the textbook loop too). A longer step is shortened along its direction to `max_change`, and the
  optimizer's record of the step's length (its state "t") with it, so the next curvature pair is made
  from the step taken.
`Pyramid` uses both by default, `Pixels` neither; bench/README.md has what each saves.
"""
import torch
import torch.nn.functional as F

FIRST_STEP = 0.05  # Pyramid's largest pixel change in the first L-BFGS step
MAX_CHANGE = 0.2  # Pyramid's largest pixel change in any later L-BFGS step


class Pixels:
    """The plain problem: the pixels are the parameters, and the optimizer takes the steps it proposes
    (unless `first_step` or `max_change` size them, with L-BFGS)."""

    def __init__(self, start: torch.Tensor, first_step: float | None = None, max_change: float | None = None):
        self.params = [start.detach().clone().requires_grad_(True)]
        self.first_step, self.max_change, self.steps = first_step, max_change, 0

    def image(self) -> torch.Tensor:
        return self.params[0]

    def change(self, steps) -> torch.Tensor:
        """The change of the image that a step of the parameters by `steps` makes."""
        return steps[0]

    def step(self, opt: torch.optim.Optimizer, closure) -> None:
        """One optimizer step; with L-BFGS, the first one sized and the later ones capped where asked."""
        lbfgs = isinstance(opt, torch.optim.LBFGS)
        if lbfgs and self.steps == 0 and self.first_step:
            self._sized_first_step(opt, closure)
        elif lbfgs and self.max_change:
            self._capped_step(opt, closure)
        else:
            opt.step(closure)
        self.steps += 1

    def _sized_first_step(self, opt, closure) -> None:
        """L-BFGS's first step, scaled so that no pixel changes by more than `first_step`.
        Evaluation 1 is reused for the step, so this costs no evaluation."""
        loss = closure()
        grads = [p.grad for p in self.params]
        scale = min(1.0, 1.0 / max(sum(float(g.abs().sum()) for g in grads), 1e-30))  # torch's first step
        with torch.no_grad():
            moved = float(self.change([scale * g for g in grads]).abs().max())
        group = opt.param_groups[0]
        lr, served = group["lr"], [loss]
        if moved > 0:
            group["lr"] = lr * self.first_step / moved
        try:
            opt.step(lambda: served.pop() if served else closure())
        finally:
            group["lr"] = lr

    def _capped_step(self, opt, closure) -> None:
        """One L-BFGS step, shortened along its direction if it would change a pixel by more than `max_change`."""
        before = [p.detach().clone() for p in self.params]
        opt.step(closure)
        with torch.no_grad():
            steps = [p - b for p, b in zip(self.params, before)]
            moved = float(self.change(steps).abs().max())
            if moved > self.max_change:
                keep = self.max_change / moved
                for p, b, s in zip(self.params, before, steps):
                    p.copy_(b + keep * s)
                opt.state[opt.param_groups[0]["params"][0]]["t"] *= keep


class Pyramid(Pixels):
    """The image as the start plus corrections at halving resolutions (weights 1, 1/2, 1/4, …),
    with a sized first step and capped steps by default."""

    def __init__(self, start: torch.Tensor, first_step: float | None = FIRST_STEP,
                 max_change: float | None = MAX_CHANGE, coarsest: int = 16, decay: float = 0.5):
        super().__init__(start, first_step, max_change)
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
