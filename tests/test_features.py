"""VGG layer names and shapes, the offline conversion against the h5 file, early stopping, freezing."""
import h5py
import numpy as np
import pytest
import torch

import stylelib as sl
from stylelib import features, layers, weights


def test_layer_names_follow_the_papers():
    names = layers.layer_names("vgg19")
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names[-3:] == ["conv5_4", "relu5_4", "pool5"]
    assert len(layers.conv_names("vgg19")) == 16 and len(layers.conv_names("vgg16")) == 13
    assert "conv3_4" in names and "conv3_4" not in layers.layer_names("vgg16")


def test_layer_shapes(model):
    image = torch.rand(1, 3, 64, 48)
    out = model(image, ["relu1_1", "pool1", "conv2_2", "relu3_1", "pool4", "conv5_1"])
    shapes = {name: tuple(t.shape) for name, t in out.items()}
    assert shapes == {
        "relu1_1": (1, 64, 64, 48), "pool1": (1, 64, 32, 24), "conv2_2": (1, 128, 32, 24),
        "relu3_1": (1, 256, 16, 12), "pool4": (1, 512, 4, 3), "conv5_1": (1, 512, 4, 3),
    }
    assert list(out) == ["relu1_1", "pool1", "conv2_2", "relu3_1", "pool4", "conv5_1"]
    assert (out["relu1_1"] >= 0).all() and (out["conv2_2"] < 0).any()


def test_forward_stops_after_the_deepest_requested_layer(model):
    ran = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: ran.append(n)) for n, m in model.body.named_children()]
    try:
        model(torch.rand(1, 3, 32, 32), ["relu2_1", "conv1_2"])
    finally:
        for h in hooks:
            h.remove()
    assert ran == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_1"]


def test_unknown_layer_error_lists_valid_names(model):
    with pytest.raises(sl.SettingsError, match="conv_4.*valid names are conv1_1, relu1_1"):
        model(torch.rand(1, 3, 32, 32), ["conv_4"])


def test_network_is_frozen_and_stays_in_eval_mode(model):
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training


def test_average_pooling_is_selectable(model):
    avg = features.VGGFeatures(model.arch, model.normalize.convention, pooling="avg")
    avg.body.load_state_dict(model.body.state_dict())
    x = torch.rand(1, 3, 16, 16)
    pooled = avg(x, ["pool1"])["pool1"]
    relu = model(x, ["relu1_2"])["relu1_2"]
    assert torch.allclose(pooled, torch.nn.functional.avg_pool2d(relu, 2), atol=1e-5)


def test_offline_vgg16_matches_the_h5_file_by_hand():
    """conv1_1 at one pixel, computed with numpy from the Keras kernel and the Caffe input convention."""
    source = weights.resolve("vgg16-hed", verbose=False)
    net = sl.vgg("vgg16-hed", verbose=False, device="cpu")
    image = torch.rand(1, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    out = net(image, ["conv1_1"])["conv1_1"][0].numpy()
    with h5py.File(source.path) as f:
        kernel = f["block1/layers/conv2d/vars/0"][()]  # (kh, kw, in, out), input channels B, G, R
        bias = f["block1/layers/conv2d/vars/1"][()]
    bgr = image[0].numpy()[::-1] * 255.0 - np.array([103.939, 116.779, 123.68]).reshape(3, 1, 1)
    padded = np.pad(bgr, ((0, 0), (1, 1), (1, 1)))  # zero padding of 1 around each channel
    for y, x in [(0, 0), (2, 3), (4, 4)]:
        patch = padded[:, y:y + 3, x:x + 3]  # (in, kh, kw)
        expected = np.einsum("chw,hwco->o", patch, kernel) + bias
        np.testing.assert_allclose(out[:, y, x], expected, rtol=1e-4, atol=1e-3)


def test_torchvision_convention_normalises_with_imagenet_statistics():
    norm = features.InputNorm("torchvision")
    x = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) + torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(norm(x), torch.ones(1, 3, 1, 1), atol=1e-6)


def test_normalized_network_has_unit_channel_means_and_the_same_function_up_to_scale(model):
    """Gatys et al.'s normalisation: every active ReLU channel's mean over the images is 1, and each layer
    is the original divided by that channel's mean (checked against the original network, not the code)."""
    pair = [sl.content("cat", 48), sl.style("starry_night", 48)]
    rescaled = sl.normalized(model, pair)
    layers = ["relu1_1", "relu2_2", "relu3_1", "relu4_2", "relu5_1"]
    for layer in layers:
        before = torch.cat([model(x, [layer])[layer].flatten(2) for x in pair], dim=2)  # (1, N, all positions)
        after = torch.cat([rescaled(x, [layer])[layer].flatten(2) for x in pair], dim=2)
        mean = before.mean(dim=(0, 2))
        active = mean > 0
        assert torch.allclose(after.mean(dim=(0, 2))[active], torch.ones(int(active.sum())), rtol=1e-3)
        expected = before[:, active] / mean[active].view(1, -1, 1)
        assert torch.allclose(after[:, active], expected, rtol=1e-3, atol=1e-4 * float(expected.abs().max()))
    assert model(pair[0], ["relu1_1"])["relu1_1"].mean() != pytest.approx(1.0, abs=0.1)  # the original is untouched
