"""The spec language: YAML → a checked tree of layers, blocks and structures."""

from .nodes import Spec
from .parser import load_spec, parse_spec

__all__ = ["Spec", "load_spec", "parse_spec"]
