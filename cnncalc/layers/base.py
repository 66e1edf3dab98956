"""What every layer kind is made of: typed fields (the YAML schema), and the rules.

A layer kind is a small class: its fields, its output-shape / parameter / MAC / other-cost
rule (``infer``), and where a peer tool counts it otherwise than that tool's default
(``Cost.peers``; the tools are declared in :mod:`cnncalc.engine.peers`). The rules are plain
arithmetic through :mod:`cnncalc.arith`, so they work on ints and on symbols alike.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .. import arith
from ..errors import Loc, SpecError
from ..expr import ExpressionError, evaluate, whole

Shape = tuple[Any, ...]
"""A per-sample tensor shape: ``(C, H, W)`` or ``(N,)``; entries are ``arith.Dim``."""

REQUIRED = object()


@dataclass
class Where:
    """Where a layer sits, so its rules can raise errors that point at the spec."""

    path: str
    loc: Loc | None
    key_locs: Mapping[str, Loc] = field(default_factory=dict)
    value_locs: Mapping[str, Loc] = field(default_factory=dict)
    flat_input: bool = False
    """The network's input is a flat vector, so no flatten is to blame for a flat tensor."""
    source: str = ""
    """The path of the layer whose output this layer receives ('' for the network input)."""
    shape_of: Callable[[str, Loc | None], Shape] | None = None
    """The engine's lookup of an earlier output's shape by name (``like: enc4``), seen from
    this layer's scope; an unknown name raises a :class:`SpecError` at the given place."""

    def source_text(self) -> str:
        """``layer 'pool5'`` or ``the network input``: where this layer's input comes from."""
        return f"layer '{self.source}'" if self.source else "the network input"

    def error(
        self, message: str, key: str | None = None, hint: str | None = None, at_key: bool = False
    ) -> SpecError:
        """An error at ``key``'s value (or at the key itself, for unknown keys)."""
        loc = self.loc
        if key:
            loc = (
                self.key_locs.get(key, loc)
                if at_key
                else self.value_locs.get(key, self.key_locs.get(key, loc))
            )
        return SpecError(message, loc, layer=self.path or None, key=key, hint=hint)


# ---------------------------------------------------------------------------- fields


@dataclass
class Field:
    """One key of a layer kind: its name, default and documentation."""

    name: str
    default: Any = REQUIRED
    doc: str = ""
    type_name: ClassVar[str] = "value"

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> Any:
        raise NotImplementedError

    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.default is None:
            return "—"
        return arith.as_text(self.default)


def _is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or arith.is_symbolic(value)


def _integer(raw: Any, env: Mapping[str, Any], where: Where, key: str) -> Any:
    if isinstance(raw, str) and raw.strip().isidentifier() and raw.strip() not in env:
        arguments = sorted(set(env) - {"in_channels"})
        hint = (
            f"block arguments here: {', '.join(arguments)}"
            if arguments
            else "write a whole number such as 64"
        )
        raise where.error(f"'{key}' must be an integer, got the text '{raw}'", key, hint=hint)
    if isinstance(raw, str):
        try:
            raw = whole(evaluate(raw, env), raw)
        except ExpressionError as error:
            raise where.error(str(error), key, hint=_expression_hint(env)) from None
    if _is_int(raw):
        return raw
    raise where.error(
        f"'{key}' must be an integer, got {_show(raw)}",
        key,
        hint="write a whole number such as 3" if isinstance(raw, float) else None,
    )


def _expression_hint(env: Mapping[str, Any]) -> str:
    names = ", ".join(sorted(env)) or "none here"
    return (
        "an expression may use numbers, + - * / // %, min/max, round/floor/ceil, "
        f"make_divisible and these names: {names}"
    )


def _show(raw: Any) -> str:
    """A value as it is written in YAML: 'text', true, 3.5, [1, 2]."""
    if isinstance(raw, str):
        return f"the text '{raw}'"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if raw is None:
        return "nothing"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a mapping"
    return repr(raw)


def _check_minimum(value: Any, minimum: int, where: Where, key: str) -> Any:
    if isinstance(value, int) and value < minimum:
        word = "positive" if minimum == 1 else f"at least {minimum}"
        raise where.error(f"'{key}' must be {word}, got {value}", key)
    return value


@dataclass
class Int(Field):
    minimum: int = 1
    type_name: ClassVar[str] = "int"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> Any:
        return _check_minimum(_integer(raw, env, where, self.name), self.minimum, where, self.name)


@dataclass
class Pair(Field):
    """An int for both axes or ``[h, w]``."""

    minimum: int = 1
    type_name: ClassVar[str] = "int or [h, w]"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> tuple[Any, Any]:
        if isinstance(raw, list):
            if len(raw) != 2:
                raise where.error(
                    f"'{self.name}' must be an int or a pair [h, w], got a list of {len(raw)}",
                    self.name,
                )
            first, second = (_integer(item, env, where, self.name) for item in raw)
        else:
            first = second = _integer(raw, env, where, self.name)
        for value in (first, second):
            _check_minimum(value, self.minimum, where, self.name)
        return (first, second)


PADDING_WORDS = ("valid", "same", "same_tf", "full")


@dataclass
class Padding(Field):
    """Convolution/pooling padding: int, [ph, pw], or one of :data:`PADDING_WORDS`."""

    words: tuple[str, ...] = PADDING_WORDS
    type_name: ClassVar[str] = "int, [ph, pw], " + " | ".join(PADDING_WORDS)

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> Any:
        if isinstance(raw, str) and raw in self.words:
            return raw
        if isinstance(raw, str) and raw.lower() in self.words:
            return raw.lower()
        if isinstance(raw, str) and raw.isidentifier() and raw not in env:
            options = ", ".join(self.words)
            raise where.error(
                f"unknown padding '{raw}'",
                self.name,
                hint=f"use an int, [ph, pw] or one of {options}",
            )
        return Pair(self.name, minimum=0).parse(raw, env, where)


@dataclass
class Bool(Field):
    type_name: ClassVar[str] = "bool"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> bool:
        if isinstance(raw, bool):
            return raw
        raise where.error(f"'{self.name}' must be true or false, got {_show(raw)}", self.name)


@dataclass
class Float(Field):
    type_name: ClassVar[str] = "number"
    positive: bool = False
    """Strictly above 0 (a normalisation's eps: torch divides by √(var + eps))."""

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> float:
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            raise where.error(f"'{self.name}' must be a number, got {_show(raw)}", self.name)
        if isinstance(raw, int) and abs(raw) > sys.float_info.max:
            raise where.error(
                f"'{self.name}' is too large for a float (at most about 1.8e308), got an "
                f"integer of {len(str(abs(raw)))} digits",
                self.name,
            )
        if not math.isfinite(raw):
            raise where.error(f"'{self.name}' must be a finite number, got {raw}", self.name)
        if self.positive and raw <= 0:
            raise where.error(
                f"'{self.name}' must be above 0, got {raw}",
                self.name,
                hint=f"{self.name} keeps a division away from zero; PyTorch's default is 1e-5",
            )
        return raw


@dataclass
class Choice(Field):
    options: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return " | ".join(self.options)

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> str:
        if raw in self.options:
            return str(raw)
        options = ", ".join(self.options)
        raise where.error(f"'{self.name}' must be one of {options}, got {_show(raw)}", self.name)


@dataclass
class Sizes(Field):
    """An int (that many equal parts) or a list of sizes."""

    type_name: ClassVar[str] = "int or [sizes...]"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> Any:
        if isinstance(raw, list):
            if not raw:
                raise where.error(f"'{self.name}' must not be an empty list", self.name)
            return tuple(Int(self.name).parse(item, env, where) for item in raw)
        return Int(self.name).parse(raw, env, where)


@dataclass(frozen=True)
class Like:
    """A ``like:`` value: the name of an earlier output and the spatial size it has there."""

    reference: str
    size: tuple[Any, Any]
    """(H, W) of the named output."""


@dataclass
class LikeField(Field):
    """The name of an earlier output whose H×W this layer takes (``like: enc4``)."""

    type_name: ClassVar[str] = "name of an earlier output"

    def parse(self, raw: Any, env: Mapping[str, Any], where: Where) -> Like:
        if not isinstance(raw, str) or not raw.strip():
            raise where.error(
                f"'{self.name}' must name an earlier output, got {_show(raw)}",
                self.name,
                hint="write like: enc4 (a layer or group name), or like: input",
            )
        if where.shape_of is None:
            raise where.error(
                f"'{self.name}' cannot be used here", self.name, hint="use size: [h, w]"
            )
        loc = where.value_locs.get(self.name, where.key_locs.get(self.name, where.loc))
        shape = where.shape_of(raw.strip(), loc)
        if len(shape) != 3:
            raise where.error(
                f"'{raw}' is a flat vector of {arith.as_text(shape[0])}: it has no H×W to "
                "take the size of",
                self.name,
                hint="name an output that is still an image (C×H×W)",
            )
        return Like(raw.strip(), (shape[1], shape[2]))


def sized(values: Mapping[str, Any], where: Where, kind: str) -> tuple[Any, Any] | None:
    """The output size a layer is given by ``size:`` or ``like:`` (not both), else None."""
    size, like = values.get("size"), values.get("like")
    if size is not None and like is not None:
        raise where.error(
            f"{kind} takes 'size' or 'like', not both",
            "like",
            hint=f"like: {like.reference} already gives the size "
            f"{arith.as_text(like.size[0])}×{arith.as_text(like.size[1])}",
        )
    return like.size if like is not None else size


def size_source(values: Mapping[str, Any]) -> tuple[tuple[tuple[str, str], ...], str]:
    """How a worked report credits a size from ``size:`` or ``like:``: the given items (the
    named output, for ``like``) and the reason written beside W_out."""
    like = values.get("like")
    if like is None:
        return (), "the size asked for"
    return (("like", like.reference),), f"the size of {like.reference}"


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Cost:
    """What one layer does to one sample. Counts are exact (``int`` or symbolic).

    ``ops`` holds the costs that are not multiply-accumulates, by category:
    ``bias`` (bias adds), ``norm``, ``activation``, ``pooling``, ``add``, ``multiply``.
    ``peers`` holds what a peer tool counts for this layer (per sample; Keras' added
    parameters per model) where it departs from that tool's default
    (:data:`cnncalc.engine.peers.PEERS`: fvcore counts the MACs, torchinfo the weight and bias
    elements, Keras adds nothing…), keyed by the tool's name: ``{"fvcore": 2·C·H·W,
    "fvcore_training": 5·C·H·W, "keras": 2·C}`` for a batchnorm.
    """

    output: Shape
    weights: Any = 0
    biases: Any = 0
    buffers: Any = 0
    macs: Any = 0
    ops: Mapping[str, Any] = field(default_factory=dict)
    peers: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    window: tuple[Any, ...] | None = None
    """Receptive-field geometry per spatial axis: ((kernel_eff, stride, pad_before), ...)."""


@dataclass(frozen=True)
class TorchCode:
    """How a layer runs in PyTorch, as source code: the exporter writes it, the builder runs it.

    ``module`` is a constructor expression (``nn.Conv2d(3, 64, kernel_size=(7, 7), ...)``) or
    None for a layer done inline; ``call`` is the forward expression, with ``{m}`` for the
    module and ``{x}`` for the input (``{m}(F.pad({x}, (0, 1, 0, 1)))``).
    """

    module: str | None
    call: str = "{m}({x})"


def torch_args(*positional: Any, **keywords: Any) -> str:
    """``3, 64, kernel_size=(7, 7), bias=False``: arguments as PyTorch's repr writes them."""
    parts = [_literal(value) for value in positional]
    parts += [f"{name}={_literal(value)}" for name, value in keywords.items()]
    return ", ".join(parts)


def _literal(value: Any) -> str:
    if isinstance(value, tuple):
        return (
            "("
            + ", ".join(_literal(item) for item in value)
            + ("," if len(value) == 1 else "")
            + ")"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return repr(value)


FIELD_RULES = ("sliding", "gathered", "pointwise", "global")
"""How a layer's outputs see its input, per spatial axis (the receptive-field rule):

- ``sliding``: a window of k pixels moved by s (conv, pool, zeropad, crop): the recurrence
  r_out = r_in + (k − 1)·j_in, j_out = j_in·s, from the layer's ``Cost.window``;
- ``gathered``: each output gathers up to n inputs on a finer or uneven grid (transposed
  conv, adaptive pools, upsampling, pixel shuffle): r_out = r_in + (n − 1)·j_in, with the
  spacing the layer states in :meth:`LayerKind.gathered_terms`;
- ``pointwise``: each output sees one input position (activations, norms over channels,
  reshapes): the field is unchanged;
- ``global``: each output sees the whole extent along the axis (global pools, a spatial mean,
  linear layers).
"""


@dataclass(frozen=True)
class Gathered:
    """The worked terms of a gathered receptive field along one axis:
    ``r_out = r_in + (n − 1)·j_in``, ``j_out = <spacing>`` and what n means."""

    symbol: str
    """The count's symbol: ``n`` (inputs gathered) or ``k`` (an adaptive window's length)."""
    spacing: str
    """The jump's formula: ``j_in/s``, ``j_in·L/n``."""
    spacing_working: str
    """The formula with the numbers: ``1/2``."""
    meaning: str
    """What n is, in words."""


class LayerKind:
    """The definition of one layer kind: its fields and rules. Every kind states each part of
    the contract itself (``infer``, ``receptive_field``, ``explain``, ``torch_code``); nothing
    is inherited by default, so a new kind cannot report a working that is not its own."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    fields: ClassVar[tuple[Field, ...]] = ()
    shorthand: ClassVar[str | None] = None
    prefix: ClassVar[str] = "layer"
    category: ClassVar[str] = "other"
    weight_layer: ClassVar[bool] = False
    """True for conv/linear: counted in depth (the longest chain of weight layers)."""
    summary: ClassVar[str] = ""
    needs_spatial: ClassVar[bool] = False
    receptive_field: ClassVar[str]
    """One of :data:`FIELD_RULES`: how an output sees the input (no default)."""

    def field_named(self, name: str) -> Field | None:
        return next((item for item in self.fields if item.name == name), None)

    def infer(self, values: Mapping[str, Any], shape: Shape, where: Where) -> Cost:
        raise NotImplementedError

    def torch_code(
        self, values: Mapping[str, Any], shape: Shape, output: Shape, details: Mapping[str, Any]
    ) -> TorchCode:
        """The PyTorch form of this layer for a (numeric) input ``shape``."""
        raise NotImplementedError(f"{self.name} has no PyTorch form")

    def explain(self, row: Any, no_bias: bool = False) -> Any:
        """The worked equations for one analysed layer (``row``): see :mod:`.explain`."""
        raise NotImplementedError(f"{self.name} states no worked explanation")

    def field_rule(self, row: Any, axis: int) -> str:
        """The receptive-field rule along ``axis`` (0: H, 1: W) for this analysed layer; a kind
        whose rule depends on its sizes (an adaptive pool to 1 is global) overrides this."""
        return self.receptive_field

    def gathered_terms(self, row: Any, axis: int) -> Gathered:
        """The spacing and meaning of a ``gathered`` field along ``axis``."""
        raise NotImplementedError(f"{self.name} gathers no inputs")

    # helpers shared by the rules ------------------------------------------------

    def spatial(self, shape: Shape, where: Where) -> tuple[Any, Any, Any]:
        """(C, H, W) of an image input, or an error saying the input is flat."""
        if len(shape) != 3:
            hint = (
                "the network input is flat; an image input is C×H×W "
                "(input: [3, 224, 224] in the spec, or --input 3x224x224)"
                if where.flat_input
                else "put it before the flatten, or remove the flatten"
            )
            raise where.error(
                f"{self.name} needs a C×H×W input, got a flat vector of {arith.as_text(shape[0])}",
                hint=hint,
            )
        return shape[0], shape[1], shape[2]


def check_declared_width(
    declared: Any, inferred: Any, where: Where, key: str, symbol: str, torch_words: str
) -> None:
    """A width the spec states (``in_channels: 3``) must be the one that arrives: an error
    naming both numbers and the layer that produced the width. ``torch_words`` says what
    PyTorch would do with the mismatch."""
    if declared is None or arith.equal(declared, inferred) is not False:
        return
    raise where.error(
        f"'{key}' is declared as {arith.as_text(declared, thousands=True)} but "
        f"{where.source_text()} gives {symbol} = {arith.as_text(inferred, thousands=True)}",
        key,
        hint=f"{torch_words}; fix the layer that produces the width, or remove '{key}' to "
        "take the width that arrives",
    )


def filter_bank(count: Any, volume: Sequence[Any]) -> Any:
    """The weights of ``count`` filters of ``volume`` values each: K·(F_h·F_w·C_in/g) for a
    conv, N_out·N_in for a linear. The rule every weight layer and every what-if alternative
    (:mod:`cnncalc.engine.savings`) shares."""
    return arith.normalize(count * arith.product(volume))


def multiply_accumulates(positions: Sequence[Any], weights: Any) -> Any:
    """Each weight is used once per position it is applied at: MACs = positions · weights."""
    return arith.normalize(arith.product(positions) * weights)


def elements(shape: Sequence[Any]) -> Any:
    """Number of elements of a per-sample shape."""
    return arith.product(shape)
