"""Checking settings before any work starts: each bad value gets one line saying what is allowed.

`validate(**settings)` is the single gate used by `stylize`, the command line and the widgets.
It returns the cleaned values or raises SettingsError; nothing else escapes (fuzzed in the tests).
"""
import dataclasses
import math
from numbers import Integral, Real

from .errors import SettingsError

MAX_SIZE = 16384
MAX_STEPS = 1_000_000


def whole(name: str, value, low: int, high: int) -> int:
    """An integer in [low, high] (bools and floats like 2.5 refused)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        if not (isinstance(value, float) and value.is_integer()):
            raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def number(name: str, value, low: float = 0.0, high: float = math.inf, strict_low: bool = False) -> float:
    """A finite real number ≥ low (> low when strict_low) and ≤ high."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number, got {value!r}")
    if value < low or (strict_low and value == low) or value > high:
        bound = f"> {low:g}" if strict_low else f"≥ {low:g}"
        raise SettingsError(f"{name} must be {bound}" + (f" and ≤ {high:g}" if high < math.inf else "") + f", got {value!r}")
    return float(value)


def choice(name: str, value, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise SettingsError(f"unknown {name} {value!r}: choose one of {', '.join(options)}")
    return value


def _optional(check):
    return lambda value: None if value is None else check(value)


RULES = {
    "size": lambda v: whole("size", v, 16, MAX_SIZE),
    "steps": lambda v: whole("steps", v, 1, MAX_STEPS),
    "every": lambda v: whole("every", v, 1, MAX_STEPS),
    "style_ramp": lambda v: whole("style_ramp", v, 0, MAX_STEPS),
    "seed": _optional(lambda v: whole("seed", v, 0, 2**63 - 1)),
    "content_weight": lambda v: number("content_weight", v),
    "style_weight": _optional(lambda v: number("style_weight", v)),
    "tv_weight": lambda v: number("tv_weight", v),
    "lr": _optional(lambda v: number("lr", v, strict_low=True)),
    "style_scale": lambda v: number("style_scale", v, 0, 8, strict_low=True),
}


def validate(**settings) -> dict:
    """Check every given setting against RULES; unknown names are refused with the valid list."""
    unknown = sorted(set(settings) - set(RULES))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}: valid are {', '.join(RULES)}")
    return {name: RULES[name](value) for name, value in settings.items()}


def described(default, help: str):
    """A dataclass field with a one-line help, so that the command line shows the library's own default and words."""
    return dataclasses.field(default=default, metadata={"help": help})
