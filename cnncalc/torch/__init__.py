"""PyTorch: build a spec as an nn.Module, verify the engine against it, export code.

Importing this package does not import torch; the functions do.
"""

from .build import BuildError, build, to_analysis

__all__ = ["BuildError", "build", "to_analysis"]
