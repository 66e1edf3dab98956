"""Measured time and memory per spec layer beside the engine's exact counts.

``cnncalc.profile(spec, batch=[1, 8], device="cpu")`` returns a frozen
:class:`~cnncalc.profile.result.Profile`; :mod:`.render` draws it (table, JSON, CSV) and
:mod:`.plots` plots it. torch is imported inside the functions that measure, never here.

The package shares its name with the function: importing ``cnncalc.profile.*`` makes the
attribute ``cnncalc.profile`` this module, so the module is made callable and
``cnncalc.profile(...)`` means the same thing however it was reached.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .api import profile
from .result import LayerProfile, Memory, Profile, Roof, SpecProfile, Timing
from .roof import ProfileError


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Profile:
        return profile(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = [
    "LayerProfile",
    "Memory",
    "Profile",
    "ProfileError",
    "Roof",
    "SpecProfile",
    "Timing",
    "profile",
]
