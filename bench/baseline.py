"""The usual implementation, for comparison: the structure of the PyTorch neural-style tutorial.

What learners copy (pytorch.org/tutorials/advanced/neural_style_tutorial): loss modules inserted
into a rebuilt `nn.Sequential` copy of VGG, each capturing its target at construction and storing
`self.loss` as the image passes through; the network trimmed after the last loss module; fp32;
`torch.optim.LBFGS` with its defaults (20 iterations per `step`, history 100); pixels clamped to
[0, 1] at the top of the closure; the full closure (forward, every loss, backward) per evaluation.

Two things differ from the tutorial so that the comparison is fair, not so that it is faster:
the network and its weights are stylelib's (`stylelib.vgg()`, input normalisation included), and
the Gram matrix is divided by M = H·W instead of N·M, with the style weight spread over the
layers (1/L each), so that both implementations minimise exactly the same objective
(tests/test_bench.py checks that they agree at the first evaluation).
"""
import torch
import torch.nn.functional as F
from torch import nn


def gram_matrix(input):
    a, b, c, d = input.size()  # batch (1), channels N, height, width
    features = input.view(a * b, c * d)
    G = torch.mm(features, features.t())
    return G.div(c * d)  # the tutorial divides by a·b·c·d; stylelib by M = c·d


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, input):
        self.loss = F.mse_loss(input, self.target)
        return input


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, input):
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


def get_style_model_and_losses(cnn, normalization, style_img, content_img, content_layers, style_layers):
    """Copy `cnn`'s layers into a new Sequential, inserting a loss module after each chosen layer."""
    content_losses, style_losses = [], []
    model = nn.Sequential(normalization)
    for name, layer in cnn.named_children():
        if isinstance(layer, nn.ReLU):
            layer = nn.ReLU(inplace=False)  # an in-place ReLU would overwrite what the loss modules saw
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{name}", content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module(f"style_loss_{name}", style_loss)
            style_losses.append(style_loss)
    for i in range(len(model) - 1, -1, -1):  # trim the layers after the last loss
        if isinstance(model[i], (ContentLoss, StyleLoss)):
            break
    return model[: i + 1], style_losses, content_losses


def run_style_transfer(vgg, content_img, style_img, input_img, num_steps, content_layers, style_layers,
                       style_weight, content_weight=1.0, on_eval=None):
    """The tutorial's loop, stopped after exactly `num_steps` closure evaluations.

    `vgg` is a stylelib VGGFeatures (its `.body` and `.normalize` are used). `on_eval(n, loss, image)`
    is called after evaluation n with the loss tensor and the image it evaluated (the benchmark records
    the first loss; the time-to-target mode checks the image).
    """
    model, style_losses, content_losses = get_style_model_and_losses(
        vgg.body, vgg.normalize, style_img, content_img, content_layers, style_layers)
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img])
    run = [0]
    while run[0] < num_steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight / len(style_losses)
            content_score *= content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            if on_eval:
                on_eval(run[0], loss, input_img.detach())
            return style_score + content_score
        # 20 evaluations per step as in the tutorial, fewer on the last so the count is exact
        optimizer.param_groups[0]["max_iter"] = min(20, num_steps - run[0])
        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return input_img
