"""stylelib.plots: figures that the notebooks draw from scratch."""
import matplotlib
import torch

from stylelib import plots

matplotlib.use("Agg")


def _texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts) + fig.axes[0].get_title()


def test_pipeline_diagram_names_every_part_and_draws_the_gradient_back_to_x():
    fig = plots.pipeline_diagram()
    text = _texts(fig)
    for part in ("content image p", "style image a", "image x", "VGG", "relu4_2", "relu1_1 … relu5_1",
                 "L_content(F, P)", "L_style(G, A)", "TV(x)", "L(x)", "gradient ∂L/∂x"):
        assert part in text, part
    ax = fig.axes[0]
    assert not ax.images and len(ax.patches) >= 9 + 10  # 9 boxes, at least 10 arrows
    red = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(red) == 1 and red[0].get_xdata()[0] > red[0].get_xdata()[-1]  # from the loss (right) back to x (left)
    matplotlib.pyplot.close(fig)
    pictures = [torch.rand(1, 3, 16, 24) for _ in range(3)]
    fig = plots.pipeline_diagram(*pictures, title="with pictures")
    assert len(fig.axes[0].images) == 3 and fig.axes[0].get_title() == "with pictures"
    matplotlib.pyplot.close(fig)
