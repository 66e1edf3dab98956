"""``cnncalc layers``: the registry, as a table, Markdown or JSON."""

from __future__ import annotations

import json

from ..layers import KINDS, LayerKind


def _fields(kind: LayerKind) -> str:
    parts = []
    for field in kind.fields:
        default = "" if field.required else f" = {field.default_text()}"
        parts.append(f"{field.name}{default}")
    return ", ".join(parts) or "—"


def render_catalogue(fmt: str) -> str:
    kinds = list(KINDS.values())
    if fmt == "json":
        return json.dumps(
            [
                {
                    "kind": kind.name,
                    "aliases": list(kind.aliases),
                    "category": kind.category,
                    "summary": kind.summary,
                    "shorthand": kind.shorthand,
                    "fields": [
                        {
                            "name": f.name,
                            "type": f.type_name,
                            "required": f.required,
                            "default": None if f.required else f.default,
                            "doc": f.doc,
                        }
                        for f in kind.fields
                    ],
                }
                for kind in kinds
            ],
            indent=2,
            ensure_ascii=False,
        )
    rows = [(kind.name, ", ".join(kind.aliases), _fields(kind), kind.summary) for kind in kinds]
    header = ("kind", "aliases", "fields (default)", "what it is")
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|---|---|---|---|"]
        lines += [
            "| " + " | ".join(f"`{cell}`" if i == 0 else cell for i, cell in enumerate(row)) + " |"
            for row in rows
        ]
        return "\n".join(lines)
    if fmt == "csv":
        return "\n".join(",".join(f'"{cell}"' for cell in row) for row in [header, *rows])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in [header, *rows]
    )
