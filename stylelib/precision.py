"""Number precision and memory layout of the network's convolutions: switches that change how fast
the loss is computed, not what it is. Each is on only where bench/ measured that it pays.

- bf16 convolutions: on by default on CPUs with native bf16 (AVX512-BF16/AMX); off where it would be
  emulated, and off on CUDA, where it measured no gain (the evaluation is bound by kernel launches). A bf16
  copy of the weights is made once; the input normalisation before it stays fp32, the features come out
  in bf16, and `stylelib.losses` computes the Gram matrices and losses from them in fp32 (only the Gram's
  backward product stays bf16). The loss after a fixed number of evaluations differs from fp32 by a few
  percent. `stylize(schedule="plain")` and `options(bf16=False)` give fp32.
- channels_last (NHWC) layout, which cuDNN's tensor-core convolutions prefer: on by default on CUDA only
  (on the CPU, oneDNN reorders to its own layout anyway).
- TF32 needs no switch: PyTorch already runs cuDNN convolutions in TF32 on Ampere and newer GPUs, and
  matrix products (the Gram matrices) stay in full fp32 on purpose.

What each switch saves, and the ideas that did not pay (torch.compile among them): bench/README.md.
"""
import contextlib
import copy
import weakref

import torch

from .errors import SettingsError

_OPTIONS = {"bf16": "auto", "channels_last": "auto"}
_CHOICES = ("auto", True, False)
_COPIES = weakref.WeakKeyDictionary()  # model -> {(bf16, channels_last, device): converted copy}


@contextlib.contextmanager
def options(**changes):
    """Temporarily set `bf16` (default "auto") and/or `channels_last` (default "auto") to True,
    False or "auto" (where bench/ measured a gain: bf16 on CPUs with native bf16, channels_last on CUDA)."""
    for name, value in changes.items():
        if name not in _OPTIONS:
            raise SettingsError(f"unknown precision option {name!r}: choose from {', '.join(_OPTIONS)}")
        if value not in _CHOICES:
            raise SettingsError(f"precision option {name} must be True, False or 'auto', got {value!r}")
    saved = dict(_OPTIONS)
    _OPTIONS.update(changes)
    try:
        yield
    finally:
        _OPTIONS.update(saved)


def native_bf16(device: torch.device) -> bool:
    """True where bfloat16 convolutions run in hardware: CUDA with bf16, CPUs with AVX512-BF16/AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return False


def in_force(device: torch.device) -> dict:
    """The switches in force on `device`: {"bf16": bool, "channels_last": bool}."""
    bf16 = device.type == "cpu" and native_bf16(device) if _OPTIONS["bf16"] == "auto" else _OPTIONS["bf16"]
    channels_last = device.type == "cuda" if _OPTIONS["channels_last"] == "auto" else _OPTIONS["channels_last"]
    return {"bf16": bool(bf16), "channels_last": bool(channels_last)}


def _converted(model, bf16: bool, channels_last: bool, device: torch.device):
    """A copy of `model` whose conv stack is bf16 and/or channels_last, made once and cached."""
    key = (bf16, channels_last, str(device))
    copies = _COPIES.setdefault(model, {})
    if key not in copies:
        net = copy.deepcopy(model).to(device)
        if channels_last:
            net.body.to(memory_format=torch.channels_last)
        if bf16:
            net.body.to(torch.bfloat16)
            first = next(iter(net.body.children()))  # the normalised fp32 input enters bf16 here
            first.register_forward_pre_hook(lambda _, args: (args[0].to(torch.bfloat16),))
        copies[key] = net
    return copies[key]


def feature_fn(model, device: torch.device):
    """`model`'s forward for the optimization loop, `f(x, layers) -> {layer: features}` (bf16 ones
    when bf16 is on), with the switches in force on `device` (on a converted copy; `model` itself is untouched)."""
    use = in_force(device)
    if not (use["bf16"] or use["channels_last"]):
        return model
    net = _converted(model, use["bf16"], use["channels_last"], device)

    def features(x, layers):
        if use["channels_last"]:
            x = x.contiguous(memory_format=torch.channels_last)
        return net(x, layers)

    return features
