"""Training, evaluation and prediction of a spec on real image data (imports torch lazily).

The package is shared by ``cnncalc train/evaluate/predict`` and ``cnncalc visualise``:
:mod:`.imageset` is the in-memory form every dataset reader returns, and the checkpoint format
is documented in :mod:`.contract`.

``cnncalc.train`` is both this package and the training function: ``cnncalc.train(spec,
epochs=5)`` calls :func:`cnncalc.train.api.train`. Python binds a subpackage as an attribute of
its parent once it is imported (``import cnncalc.train.metrics`` sets ``cnncalc.train`` to the
module), so a plain lazy function of that name would be shadowed; instead the package module
itself is callable (its ``__class__`` is :class:`CallablePackage`, as PEP 549/562 allow).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class CallablePackage(types.ModuleType):
    """A module that runs :func:`cnncalc.train.api.train` when called."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = CallablePackage
