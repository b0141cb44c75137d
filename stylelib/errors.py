"""The project's error types: every problem a user can cause is one of these, with a one-line message."""


class StylelibError(Exception):
    """Base class: the message says what was wrong and what to do."""


class ImageError(StylelibError, ValueError):
    """An image file that cannot be read, or an output path that cannot be written."""


class SettingsError(StylelibError, ValueError):
    """A setting out of range or unknown (size, steps, weights, layer names, optimizer)."""


class WeightsError(StylelibError, RuntimeError):
    """Network weights that are missing, damaged or unsafe to load."""


class ResourceError(StylelibError, RuntimeError):
    """The device ran out of memory: the message names the size tried and one that should fit."""
