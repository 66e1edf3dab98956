"""Located YAML → :class:`Spec`: the structure of the language, checked key by key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import layers
from ..errors import Loc, SpecError, did_you_mean, paused_garbage_collection
from ..expr import FUNCTIONS
from .arguments import Arguments, apply_settings
from .nodes import (
    BlockDef,
    Branch,
    CallNode,
    DenseNode,
    LayerNode,
    MergeNode,
    Node,
    RepeatNode,
    ResidualNode,
    SequenceNode,
    Spec,
)
from .yaml_source import YamlList, YamlMap, parse_yaml, read_spec_text

TOP_KEYS = (
    "name",
    "source",
    "description",
    "published",
    "input",
    "defaults",
    "blocks",
    "layers",
    "expect",
    "train",
    "outputs",
    "args",
)
MERGES = ("concat", "add", "multiply")
STRUCTURES = ("sequence", *MERGES, "residual", "dense_block", "repeat")
COMMON_SIBLINGS = ("name", "then", "expect", "from", "training_only", "if")
GRAPH_KEYS = ("from", "training_only", "if")
"""Keys any item takes, beside it or among a layer's or call's fields."""
RESERVED_ARGUMENTS = ("in_channels", "growth", "index", "input", *FUNCTIONS, "true", "false")
KIND_KEYS = ("kind", "type", "layer", "op")
"""Keys other tools use to name a layer's kind, answered with how cnncalc spells it."""
REPEAT_SIBLINGS = ("block", "layers", "with", "first")
PUBLISHED_KEYS = ("params", "trainable_params", "macs", "flops", "depth", "note")

MODULE_ATTRIBUTES = (
    # public attributes of torch.nn.Module (a test checks this against dir(nn.Module));
    # written out so that parsing never imports torch
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init",
    "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr",
    "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook",
    "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule",
    "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad",
    # nn.ModuleDict, which holds nested names
    "clear", "items", "keys", "pop", "update", "values",
    # what cnncalc's builder puts on the model
    "analysis", "recorder", "forward_source",
)  # fmt: skip
"""Names a layer or block cannot take: they are attributes of the built ``nn.Module``.
Names starting with '_' are refused too (``_modules``, ``_at``, ``__init__``)."""


def reserved_name(name: str) -> bool:
    """Whether ``name`` would collide with an attribute of the built PyTorch module."""
    return name.startswith("_") or name in MODULE_ATTRIBUTES


def _reserved_error(name: str, loc: Loc, what: str, key: str) -> SpecError:
    why = (
        "starts with '_', which PyTorch and cnncalc keep for their own attributes"
        if name.startswith("_")
        else "is an attribute of torch.nn.Module (or of the model cnncalc builds): "
        "the layer would clash with it"
    )
    return SpecError(
        f"{what} '{name}' {why}",
        loc,
        layer=name,
        key=key,
        hint=f"rename it, e.g. '{name.strip('_') or 'layer'}_1'",
    )


def load_spec(path: str | os.PathLike[str], settings: Mapping[str, str] | None = None) -> Spec:
    """Read, parse and check a spec file; ``settings`` set its ``args:`` (``--set``, as
    text: ``{"width": "0.5"}``). Raises :class:`SpecError`."""
    text = read_spec_text(path)
    return parse_spec(text, os.fspath(path), settings)


def parse_spec(text: str, file: str = "<spec>", settings: Mapping[str, str] | None = None) -> Spec:
    """Parse spec text; errors carry the offending source line."""
    lines = text.splitlines()
    try:
        with paused_garbage_collection():
            spec = _Parser(file).spec(parse_yaml(text, file), lines)
            apply_settings(spec.arguments, settings or {}, file)
            return spec
    except SpecError as error:
        raise attach_source(error, lines) from None


def attach_source(error: SpecError, lines: list[str]) -> SpecError:
    """Give an error the source line it points at, for the caret display."""
    if error.loc and error.source_line is None and 0 < error.loc.line <= len(lines):
        error.source_line = lines[error.loc.line - 1]
    return error


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text '{value}'"
    return f"{type(value).__name__} {value!r}"


class _Parser:
    def __init__(self, file: str) -> None:
        self.file = file
        self.block_names: set[str] = set()

    # ------------------------------------------------------------------ top level

    def spec(self, data: Any, lines: list[str]) -> Spec:
        start = Loc(self.file, 1, 1)
        if data is None:
            raise SpecError(
                "the spec is empty",
                start,
                hint="a spec needs at least 'input: [C, H, W]' and 'layers:' ('name:' is optional)",
            )
        if not isinstance(data, YamlMap):
            raise SpecError(
                f"a spec must be a mapping with name, input and layers, not {_type_name(data)}",
                getattr(data, "loc", start),
                hint="start the file with 'name: ...', 'input: [3, 224, 224]' and 'layers:'",
            )
        self._check_keys(data, TOP_KEYS, "the spec")
        for required in ("input", "layers"):
            if required not in data:
                raise SpecError(
                    f"the spec has no '{required}'",
                    data.loc,
                    key=required,
                    hint="add 'input: [3, 224, 224]'"
                    if required == "input"
                    else "add 'layers:' with a list of layers",
                )
        blocks_raw = data.get("blocks") or YamlMap()
        if not isinstance(blocks_raw, YamlMap):
            raise self._error(data, "blocks", "'blocks' must be a mapping of block name → body")
        self.block_names = set(blocks_raw)
        for name in blocks_raw:
            if layers.lookup(name) or name in STRUCTURES:
                raise SpecError(
                    f"block name '{name}' is already a layer kind or structure",
                    blocks_raw.key_locs[name],
                    key=name,
                    hint="choose another name",
                )
            if reserved_name(str(name)):
                raise _reserved_error(str(name), blocks_raw.key_locs[name], "block name", name)
        defaults, default_locs = self._defaults(data)
        spec = Spec(
            file=self.file,
            name=self._text(data, "name", default=os.path.splitext(os.path.basename(self.file))[0]),
            source=self._text(data, "source", default=None),
            description=self._text(data, "description", default=None),
            published=self._published(data),
            input=self._input(data),
            input_loc=data.value_locs["input"],
            defaults=defaults,
            default_locs=default_locs,
            blocks={
                name: self._block(name, blocks_raw, index) for index, name in enumerate(blocks_raw)
            },
            layers=self._item_list(data["layers"], data.value_locs["layers"], "layers"),
            lines=lines,
        )
        if "expect" in data:
            spec.expect, spec.expect_locs = self._expect(data["expect"], data.value_locs["expect"])
        if "outputs" in data:
            spec.outputs = self._outputs(data["outputs"], data.value_locs["outputs"])
        if "args" in data:
            spec.arguments = self._arguments(data["args"], data.key_locs["args"])
        if "train" in data:
            spec.train = self._train(data["train"], data.value_locs["train"])
        return spec

    def _arguments(self, value: Any, loc: Loc) -> Arguments:
        """``args: {width: 1.0, depth: 50}``: names with their defaults, in order."""
        if not isinstance(value, YamlMap):
            raise SpecError(
                "'args' must be a mapping of argument names to default values",
                loc,
                key="args",
                hint="args: {width: 1.0, depth: 50}; set them with --set width=0.5",
            )
        for name in value:
            if not isinstance(name, str) or not name.isidentifier() or name in RESERVED_ARGUMENTS:
                raise SpecError(
                    f"argument name '{name}' must be a word, and not one of "
                    f"{', '.join(RESERVED_ARGUMENTS)}",
                    value.key_locs[name],
                    key=str(name),
                    hint="for example width, depth, num_classes",
                )
        return Arguments(dict(value), dict(value.value_locs), loc)

    def _outputs(self, value: Any, loc: Loc) -> list[tuple[str, Loc]]:
        """``outputs: [cls_head, box_head]``: names of earlier outputs, in return order."""
        if not isinstance(value, YamlList) or not value:
            raise SpecError(
                "'outputs' must be a list of layer names",
                loc,
                key="outputs",
                hint="outputs: [classifier, boxes]: the network returns these, in this order",
            )
        return [
            (self._reference(item, value.item_locs[index], "outputs"), value.item_locs[index])
            for index, item in enumerate(value)
        ]

    def _reference(self, value: Any, loc: Loc, key: str) -> str:
        """A reference to an earlier output: a name, a dotted path (``layer1.0.conv2``) or
        ``input``."""
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        parts = text.split(".")
        if not text or any(not part or any(c.isspace() for c in part) for part in parts):
            raise SpecError(
                f"'{key}' must name an earlier layer, got {_type_name(value)}",
                loc,
                key=key,
                hint=f"{key}: enc1 (a name), {key}: layer1.0.conv2 (a path) or {key}: input",
            )
        return text

    def _train(self, value: Any, loc: Loc) -> YamlMap:
        """``train:`` settings are data for ``cnncalc train`` (cnncalc/train/config.py checks
        the keys and values, with their positions); the analysis ignores them."""
        if value is None:
            return YamlMap()
        if not isinstance(value, YamlMap):
            raise SpecError(
                f"'train' must be a mapping of training settings, not {_type_name(value)}",
                loc,
                key="train",
                hint="train: {optimizer: sgd, lr: 0.05, epochs: 10, batch: 64}",
            )
        return value

    def _expect(self, value: Any, loc: Loc) -> tuple[dict[str, Any], dict[str, Loc]]:
        """Claims: a mapping such as {output: 55x55x96, params: 34944}."""
        if not isinstance(value, YamlMap):
            raise SpecError(
                "'expect' must be a mapping of claims",
                loc,
                key="expect",
                hint="expect: {output: 55x55x96, params: 34944, macs: 105415200}",
            )
        return dict(value), dict(value.value_locs)

    def _text(self, data: YamlMap, key: str, default: Any) -> Any:
        if key not in data:
            return default
        value = data[key]
        if not isinstance(value, str | int | float):
            raise self._error(data, key, f"'{key}' must be text, got {_type_name(value)}")
        return str(value)

    def _published(self, data: YamlMap) -> dict[str, Any]:
        published = data.get("published")
        if published is None:
            return {}
        if not isinstance(published, YamlMap):
            raise self._error(data, "published", "'published' must be a mapping of totals")
        self._check_keys(published, PUBLISHED_KEYS, "published")
        for key, value in published.items():
            if key == "note":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SpecError(
                    f"published '{key}' must be a whole number, got {_type_name(value)[:60]}",
                    published.value_locs.get(key, published.loc),
                    key=key,
                    hint="write the published total as an integer: 61706 or 61_706",
                )
        return dict(published)

    def _input(self, data: YamlMap) -> list[Any]:
        raw = data["input"]
        loc = data.value_locs["input"]
        if isinstance(raw, str):
            raw = [part.strip() for part in raw.lower().replace("×", "x").split("x")]
            raw = [int(part) if part.isdigit() else part for part in raw]
        if not isinstance(raw, list) or len(raw) not in (1, 3):
            got = (
                f"a list of {len(raw)}: [{', '.join(str(item) for item in raw)[:60]}]"
                if isinstance(raw, list)
                else _type_name(raw)
            )
            raise SpecError(
                f"'input' must be [C, H, W] (or [N] for a flat vector), got {got}",
                loc,
                key="input",
                hint="for example input: [3, 224, 224] or input: [3, H, W]",
            )
        item_locs = getattr(raw, "item_locs", [loc] * len(raw))
        for item, item_loc in zip(raw, item_locs, strict=True):
            if isinstance(item, bool) or not (
                (isinstance(item, int) and item > 0)
                or (isinstance(item, str) and item.isidentifier())
            ):
                raise SpecError(
                    f"input dimension {item!r} must be a positive integer or a symbol such as H",
                    item_loc,
                    key="input",
                    hint="input: [C, H, W], e.g. [3, 224, 224] or [3, H, W]",
                )
        return list(raw)

    def _defaults(
        self, data: YamlMap
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Loc]]]:
        raw = data.get("defaults")
        if raw is None:
            return {}, {}
        if not isinstance(raw, YamlMap):
            raise self._error(data, "defaults", "'defaults' must map a layer kind to field values")
        values: dict[str, dict[str, Any]] = {}
        locs: dict[str, dict[str, Loc]] = {}
        for spelled, fields in raw.items():
            kind = layers.lookup(spelled)
            if kind is None:
                raise SpecError(
                    f"unknown layer kind '{spelled}' in defaults",
                    raw.key_locs[spelled],
                    key=spelled,
                    hint=did_you_mean(spelled, layers.ALIASES),
                )
            if not isinstance(fields, YamlMap):
                raise self._error(raw, spelled, f"defaults for '{spelled}' must be a mapping")
            self._check_keys(fields, [field.name for field in kind.fields], f"{kind.name} defaults")
            values.setdefault(kind.name, {}).update(fields)
            locs.setdefault(kind.name, {}).update(fields.value_locs)
        return values, locs

    # ------------------------------------------------------------------ blocks

    def _block(self, name: str, blocks: YamlMap, index: int) -> BlockDef:
        raw = blocks[name]
        loc = blocks.key_locs[name]
        if isinstance(raw, YamlList):
            return BlockDef(name, [], self._item_list(raw, blocks.value_locs[name], name), loc)
        if not isinstance(raw, YamlMap):
            raise SpecError(
                f"block '{name}' must be a mapping with 'args' and 'layers' (or a structure)",
                loc,
                key=name,
            )
        params = self._params(raw, name)
        body_keys = [key for key in raw if key != "args"]
        if "layers" in raw:
            self._check_keys(raw, ("args", "layers"), f"block '{name}'")
            body = self._item_list(raw["layers"], raw.value_locs["layers"], name)
        else:
            if "name" in raw:
                raise SpecError(
                    f"block '{name}' cannot name its body: the name goes where the block is "
                    f"called ({name}: {{name: ...}})",
                    raw.key_locs["name"],
                    key="name",
                )
            heads = [key for key in body_keys if key in STRUCTURES]
            if len(heads) != 1:
                raise SpecError(
                    f"block '{name}' needs 'layers: [...]' or exactly one structure "
                    f"({', '.join(STRUCTURES)})",
                    loc,
                    key=name,
                )
            item = YamlMap({key: raw[key] for key in body_keys})
            item.loc, item.key_locs, item.value_locs = raw.loc, raw.key_locs, raw.value_locs
            node = self._item(item, raw.loc)
            node.inline = True
            body = [node]
        return BlockDef(name, params, body, loc)

    def _params(self, raw: YamlMap, block: str) -> list[tuple[str, Any]]:
        args = raw.get("args", [])
        if not isinstance(args, list):
            raise self._error(raw, "args", f"'args' of block '{block}' must be a list of names")
        params: list[tuple[str, Any]] = []
        for position, item in enumerate(args):
            loc = args.item_locs[position] if isinstance(args, YamlList) else raw.loc
            if isinstance(item, str) and item.isidentifier():
                params.append((item, layers.REQUIRED))
            elif isinstance(item, YamlMap) and len(item) == 1:
                ((name, default),) = item.items()
                params.append((name, default))
            else:
                raise SpecError(
                    f"argument {item!r} of block '{block}' must be a name or 'name: default'",
                    loc,
                    key="args",
                )
        return params

    # ------------------------------------------------------------------ items

    def _item_list(self, raw: Any, loc: Loc, where: str) -> list[Node]:
        if raw is None:
            return []
        if not isinstance(raw, YamlList):
            raw = YamlList([raw])
            raw.loc, raw.item_locs = loc, [loc]
        return [self._item(item, raw.item_locs[index]) for index, item in enumerate(raw)]

    def _item(self, raw: Any, loc: Loc) -> Node:
        if isinstance(raw, str):
            return self._bare(raw, loc)
        if not isinstance(raw, YamlMap):
            raise SpecError(
                f"a layer must be a kind name (relu) or a mapping (conv: {{...}}), "
                f"not {_type_name(raw)}",
                loc,
            )
        heads = [
            key for key in raw if key in STRUCTURES or layers.lookup(key) or key in self.block_names
        ]
        if not heads:
            unknown = next(
                (key for key in raw if key not in COMMON_SIBLINGS + REPEAT_SIBLINGS), None
            )
            key = unknown or next(iter(raw), "")
            raise SpecError(
                f"unknown layer kind '{key}'",
                raw.key_locs.get(key, loc),
                key=key,
                hint=self._kind_key_hint(raw, key) or self._kind_hint(key),
            )
        if len(heads) > 1:
            raise SpecError(
                f"one layer per list item: found {', '.join(heads)} together",
                raw.key_locs[heads[1]],
                key=heads[1],
                hint="start each layer with its own '- '",
            )
        head = heads[0]
        if head == "repeat":
            return self._repeat(raw)
        self._check_indentation(raw, head)
        self._check_keys(raw, (head, *COMMON_SIBLINGS), f"'{head}'")
        node = self._head(head, raw)
        self._siblings(node, raw)
        return node

    def _check_indentation(self, raw: YamlMap, head: str) -> None:
        """``- conv:`` with its fields at the same indent as ``conv`` is YAML for a conv with
        no fields and siblings ``filters``, ``kernel``: say what happened."""
        kind = layers.lookup(head)
        if kind is None or raw[head] is not None:
            return
        names = {field.name for field in kind.fields}
        strays = [key for key in raw if key in names and key not in COMMON_SIBLINGS]
        if strays:
            fields = ", ".join(f"{key}: {raw[key]}" for key in strays)
            raise SpecError(
                f"'{strays[0]}' is a field of {head}, but it sits beside '{head}:', not under it",
                raw.key_locs[strays[0]],
                key=strays[0],
                hint=f"indent the fields two spaces more than '{head}', "
                f"or write - {head}: {{{fields}}}",
            )

    def _bare(self, word: str, loc: Loc) -> Node:
        kind = layers.lookup(word)
        if kind is not None:
            return LayerNode(loc, kind=kind.name, spelled=word)
        if word in self.block_names:
            return CallNode(loc, block=word)
        raise SpecError(f"unknown layer kind '{word}'", loc, key=word, hint=self._kind_hint(word))

    @staticmethod
    def _kind_key_hint(raw: YamlMap, key: str) -> str | None:
        """Keras/ONNX habit: ``{kind: conv, filters: 8}``. The kind is the item's key here."""
        kind = raw[key] if key in KIND_KEYS else None
        if not isinstance(kind, str) or layers.lookup(kind) is None:
            return None
        fields = ", ".join(f"{name}: {raw[name]}" for name in raw if name != key)
        return f"the kind is the key of the item: write '- {kind}: {{{fields}}}'"

    def _kind_hint(self, word: str) -> str:
        suggestion = did_you_mean(word, [*layers.ALIASES, *self.block_names, *STRUCTURES])
        return (
            suggestion
            or "run 'cnncalc layers' for the layer kinds; blocks are defined under 'blocks:'"
        )

    def _siblings(self, node: Node, raw: YamlMap) -> None:
        for key in GRAPH_KEYS:
            if key in raw:
                self._graph_key(node, key, raw[key], raw.value_locs[key])
        if "name" in raw:
            node.name = self._name(raw["name"], raw.value_locs["name"])
            node.name_loc = raw.key_locs["name"]
        if "then" in raw:
            node.then = self._item_list(raw["then"], raw.value_locs["then"], "then")
        if "expect" in raw:
            node.expect, node.expect_locs = self._expect(raw["expect"], raw.value_locs["expect"])

    def _graph_key(self, node: Node, key: str, value: Any, loc: Loc) -> None:
        """``from: enc1``, ``training_only: true`` or ``if: expr``, beside an item or among
        its fields."""
        if key == "if":
            if not isinstance(value, str | bool):
                raise SpecError(
                    f"'if' must be a condition such as 'expand != 1', got {_type_name(value)}",
                    loc,
                    key="if",
                    hint="if: expand != 1 (the item is present only when it holds)",
                )
            node.condition, node.condition_loc = value, loc
            return
        if key == "from":
            node.source = self._reference(value, loc, "from")
            node.source_loc = loc
            return
        if not isinstance(value, bool):
            raise SpecError(
                f"'training_only' must be true or false, got {_type_name(value)}",
                loc,
                key="training_only",
                hint="training_only: true marks an auxiliary head that runs in train() only",
            )
        node.training_only = value

    def _name(self, value: Any, loc: Loc) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SpecError(f"a name must be text, got {_type_name(value)}", loc, key="name")
        text = str(value)
        if not text or "." in text or any(char.isspace() for char in text):
            raise SpecError(
                f"name '{text}' must be non-empty, without dots or spaces",
                loc,
                key="name",
                hint="dots join names into paths (layer3.1.conv2)",
            )
        if reserved_name(text):
            raise _reserved_error(text, loc, "name", "name")
        return text

    def _head(self, head: str, raw: YamlMap) -> Node:
        value, loc, value_loc = raw[head], raw.key_locs[head], raw.value_locs[head]
        if head == "sequence":
            return SequenceNode(loc, items=self._item_list(value, value_loc, head))
        if head in MERGES:
            return MergeNode(loc, merge=head, branches=self._branches(value, value_loc, head))
        if head == "residual":
            return self._residual(value, loc)
        if head == "dense_block":
            return self._dense(value, loc)
        if head in self.block_names:
            return self._call(head, value, loc)
        return self._layer(head, value, loc, value_loc)

    def _layer(self, spelled: str, value: Any, loc: Loc, value_loc: Loc) -> LayerNode:
        kind = layers.lookup(spelled)
        assert kind is not None
        node = LayerNode(loc, kind=kind.name, spelled=spelled)
        if value is None:
            return node
        if isinstance(value, YamlMap):
            for key, item in value.items():
                if key == "name":
                    node.name = self._name(item, value.value_locs[key])
                    node.name_loc = value.key_locs[key]
                    continue
                if key == "expect":
                    node.expect, node.expect_locs = self._expect(item, value.value_locs[key])
                    continue
                if key in GRAPH_KEYS:
                    self._graph_key(node, key, item, value.value_locs[key])
                    continue
                node.values[key] = item
                node.key_locs[key] = value.key_locs[key]
                node.value_locs[key] = value.value_locs[key]
            return node
        if kind.shorthand is None:
            required = ", ".join(f"{field.name}: ..." for field in kind.fields if field.required)
            raise SpecError(
                f"{kind.name} takes a mapping of fields, not {_type_name(value)}",
                value_loc,
                key=spelled,
                hint=f"write {spelled}: {{{required}}}" if required else None,
            )
        node.values[kind.shorthand] = value
        node.key_locs[kind.shorthand] = value_loc
        node.value_locs[kind.shorthand] = value_loc
        return node

    def _call(self, block: str, value: Any, loc: Loc) -> CallNode:
        node = CallNode(loc, block=block)
        if value is None:
            return node
        if not isinstance(value, YamlMap):
            raise SpecError(
                f"arguments of block '{block}' must be a mapping, not {_type_name(value)}",
                loc,
                key=block,
                hint=f"write {block}: {{arg: value, ...}}",
            )
        for key, item in value.items():
            if key == "name":
                node.name = self._name(item, value.value_locs[key])
                node.name_loc = value.key_locs[key]
            elif key == "expect":
                node.expect, node.expect_locs = self._expect(item, value.value_locs[key])
            elif key in GRAPH_KEYS:
                self._graph_key(node, key, item, value.value_locs[key])
            else:
                node.args[key] = item
                node.key_locs[key] = value.key_locs[key]
        return node

    def _branches(self, value: Any, loc: Loc, head: str) -> list[Branch]:
        if not isinstance(value, YamlList) or len(value) < 2:
            raise SpecError(
                f"'{head}' needs a list of at least two branches",
                loc,
                key=head,
                hint=f"{head}: [[layers of branch 1], [layers of branch 2]]",
            )
        branches = []
        for index, raw in enumerate(value):
            item_loc = value.item_locs[index]
            if isinstance(raw, YamlMap) and ("layers" in raw or "from" in raw):
                self._check_keys(raw, ("name", "layers", "from"), "a branch")
                name = self._name(raw["name"], raw.value_locs["name"]) if "name" in raw else None
                items = (
                    self._item_list(raw["layers"], raw.value_locs["layers"], "branch")
                    if "layers" in raw
                    else []
                )
                branch = Branch(item_loc, name, items)
                if "from" in raw:
                    branch.source_loc = raw.value_locs["from"]
                    branch.source = self._reference(raw["from"], branch.source_loc, "from")
                branches.append(branch)
            else:
                branches.append(Branch(item_loc, None, self._item_list(raw, item_loc, "branch")))
        return branches

    def _residual(self, value: Any, loc: Loc) -> ResidualNode:
        if not isinstance(value, YamlMap) or "body" not in value:
            raise SpecError(
                "'residual' needs a mapping with 'body' (and optionally 'shortcut')",
                loc,
                key="residual",
                hint="residual: {body: [...], shortcut: auto}",
            )
        self._check_keys(value, ("body", "shortcut", "shortcut_name"), "residual")
        node = ResidualNode(
            loc, body=self._item_list(value["body"], value.value_locs["body"], "body")
        )
        shortcut = value.get("shortcut", "auto")
        node.shortcut_loc = value.value_locs.get("shortcut", loc)
        if isinstance(shortcut, str) and shortcut in ("auto", "identity", "projection"):
            node.shortcut = shortcut
        elif isinstance(shortcut, YamlList):
            node.shortcut = self._item_list(shortcut, node.shortcut_loc, "shortcut")
        else:
            raise SpecError(
                f"shortcut must be auto, identity, projection or a list of layers, got "
                f"{_type_name(shortcut)}",
                node.shortcut_loc,
                key="shortcut",
            )
        if "shortcut_name" in value:
            node.shortcut_name = self._name(
                value["shortcut_name"], value.value_locs["shortcut_name"]
            )
        return node

    def _dense(self, value: Any, loc: Loc) -> DenseNode:
        if not isinstance(value, YamlMap):
            raise SpecError(
                "'dense_block' needs a mapping: {count, growth, layer: [...]}",
                loc,
                key="dense_block",
            )
        self._check_keys(value, ("count", "growth", "layer", "block", "with"), "dense_block")
        for required in ("count", "growth"):
            if required not in value:
                raise SpecError(f"'dense_block' needs '{required}'", loc, key=required)
        node = DenseNode(
            loc, count=value["count"], growth=value["growth"], key_locs=dict(value.value_locs)
        )
        if ("layer" in value) == ("block" in value):
            raise SpecError(
                "'dense_block' needs exactly one of 'layer: [...]' or 'block: name'",
                loc,
                key="dense_block",
            )
        if "layer" in value:
            node.layer = self._item_list(value["layer"], value.value_locs["layer"], "layer")
        else:
            node.block = self._block_ref(value, "block")
            node.with_args = self._args(value, "with")
        return node

    def _repeat(self, raw: YamlMap) -> RepeatNode:
        self._check_keys(raw, ("repeat", *COMMON_SIBLINGS, *REPEAT_SIBLINGS), "repeat")
        node = RepeatNode(
            raw.key_locs["repeat"], count=raw["repeat"], key_locs=dict(raw.value_locs)
        )
        if ("layers" in raw) == ("block" in raw):
            raise SpecError(
                "'repeat' needs exactly one of 'layers: [...]' or 'block: name'",
                raw.key_locs["repeat"],
                key="repeat",
                hint="- repeat: 3\n    block: basic\n    with: {filters: 64}",
            )
        if "layers" in raw:
            node.items = self._item_list(raw["layers"], raw.value_locs["layers"], "layers")
            if "with" in raw or "first" in raw:
                raise SpecError("'with' and 'first' go with 'block:'", raw.loc, key="with")
        else:
            node.block = self._block_ref(raw, "block")
            node.with_args = self._args(raw, "with")
            node.first_args = self._args(raw, "first")
        self._siblings(node, raw)
        return node

    def _block_ref(self, raw: YamlMap, key: str) -> str:
        name = raw[key]
        if not isinstance(name, str) or name not in self.block_names:
            raise SpecError(
                f"unknown block '{name}'",
                raw.value_locs[key],
                key=key,
                hint=did_you_mean(str(name), self.block_names) or "define it under 'blocks:'",
            )
        return name

    def _args(self, raw: YamlMap, key: str) -> dict[str, Any]:
        if key not in raw:
            return {}
        value = raw[key]
        if not isinstance(value, YamlMap):
            raise self._error(raw, key, f"'{key}' must be a mapping of argument values")
        return dict(value)

    # ------------------------------------------------------------------ helpers

    def _check_keys(self, raw: YamlMap, allowed: Any, where: str) -> None:
        allowed = tuple(allowed)
        for key in raw:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f"{where} accepts: {', '.join(allowed)}"
                raise SpecError(
                    f"unknown key '{key}' in {where}", raw.key_locs[key], key=key, hint=hint
                )

    def _error(self, raw: YamlMap, key: str, message: str) -> SpecError:
        return SpecError(message, raw.value_locs.get(key, raw.loc), key=key)
