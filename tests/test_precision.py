"""The speed switches change how fast the loss is computed, not what it is."""
import pytest
import torch

import stylelib as sl
from stylelib import precision

CPU = torch.device("cpu")
LAYERS = ["relu1_1", "relu3_1", "relu4_2", "relu5_1"]


def test_options_apply_inside_the_block_only():
    before = precision.in_force(CPU)
    with precision.options(bf16=True, channels_last=True):
        assert precision.in_force(CPU) == {"bf16": True, "channels_last": True}
        with precision.options(bf16=False):
            assert precision.in_force(CPU) == {"bf16": False, "channels_last": True}
    assert precision.in_force(CPU) == before


def test_bf16_is_on_by_default_only_where_native_on_a_cpu():
    """Measured to pay on CPUs with native bf16 (bench/README.md, issue 14); emulated bf16 would be slower."""
    assert precision.in_force(CPU)["bf16"] == precision.native_bf16(CPU)


@pytest.mark.parametrize("changes, match", [({"tf32": True}, "unknown precision option 'tf32'"),
                                            ({"bf16": "yes"}, "True, False or 'auto'")])
def test_bad_options_are_refused(changes, match):
    with pytest.raises(sl.SettingsError, match=match):
        with precision.options(**changes):
            pass


def test_plain_fp32_path_is_the_model_itself(model):
    with precision.options(bf16=False, channels_last=False):
        assert precision.feature_fn(model, CPU) is model


@pytest.mark.parametrize("bf16, channels_last, tolerance", [(True, False, 0.03), (True, True, 0.03), (False, True, 1e-5)])
def test_fast_features_and_gradients_match_fp32(model, bf16, channels_last, tolerance):
    x = sl.content("cat", size=48).requires_grad_(True)
    exact = model(x, LAYERS)
    exact_grad, = torch.autograd.grad(sum(sl.gram_matrix(f).sum() for f in exact.values()), x)
    with precision.options(bf16=bf16, channels_last=channels_last):
        fast = precision.feature_fn(model, CPU)(x, LAYERS)
    fast_grad, = torch.autograd.grad(sum(sl.gram_matrix(f).sum() for f in fast.values()), x)
    for name in LAYERS:
        assert fast[name].dtype == (torch.bfloat16 if bf16 else torch.float32)
        assert (fast[name].float() - exact[name]).norm() <= tolerance * exact[name].norm()
    assert fast_grad.dtype == torch.float32
    assert (fast_grad - exact_grad).norm() <= 2 * tolerance * exact_grad.norm()
    assert all(p.dtype == torch.float32 and p.is_contiguous() for p in model.parameters())  # model untouched
