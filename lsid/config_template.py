"""A commented YAML of every AOI key (``lsid check --template``): its default, what it is (with its
unit) and its allowed range, read from the pydantic models of :mod:`lsid.config`, so that the
template can never disagree with the validation."""

from __future__ import annotations

import json
import typing

import annotated_types
from pydantic import BaseModel

from lsid.config import AOIConfig, _model_of

#: Keys set by lsid itself (not in a parameter file).
INTERNAL_KEYS = ("profile",)


def _range(field) -> str:
    """'0 ≤ x ≤ 1'-style text of a field's numeric bounds, '' when it has none."""
    lo = hi = ""
    for m in field.metadata:
        if isinstance(m, annotated_types.Ge):
            lo = f"{m.ge} ≤ "
        elif isinstance(m, annotated_types.Gt):
            lo = f"{m.gt} < "
        elif isinstance(m, annotated_types.Le):
            hi = f" ≤ {m.le}"
        elif isinstance(m, annotated_types.Lt):
            hi = f" < {m.lt}"
    return f"{lo}value{hi}" if lo or hi else ""


def _choices(annotation) -> list | None:
    """The allowed values of a Literal annotation (inside Optional or list too), else None."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    for a in typing.get_args(annotation):
        c = _choices(a)
        if c:
            return c
    return None


def _scalar(value) -> str:
    """A YAML value on one line (JSON flow style is valid YAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, default=str)


def _lines(model: type[BaseModel], values: dict, indent: int) -> list[str]:
    pad = "  " * indent
    out = []
    for name, field in model.model_fields.items():
        if name in INTERNAL_KEYS:
            continue
        sub = _model_of(field.annotation)
        value = values.get(name)
        if sub is not None and (isinstance(value, dict) or value is None) \
                and typing.get_origin(field.annotation) is not list:
            doc = " ".join((field.description or sub.__doc__ or "").split()).split(". ")[0].rstrip(".")
            out.append(f"{pad}{name}:" + (f"  # {doc}" if doc else ""))
            if value is None:
                out.append(f"{pad}  # (none by default; keys: {', '.join(sub.model_fields)})")
            else:
                out.extend(_lines(sub, value, indent + 1))
            continue
        notes = [field.description or ""]
        if (r := _range(field)):
            notes.append(f"range: {r}")
        if (c := _choices(field.annotation)):
            notes.append("one of: " + ", ".join(map(str, c)))
        if field.is_required():
            notes.append("required")
        comment = "; ".join(n for n in notes if n)
        out.append(f"{pad}{name}: {_scalar(value)}" + (f"  # {comment}" if comment else ""))
    return out


def template(name: str = "my-area") -> str:
    """The commented YAML template: every key of an AOI file at its default (the built-in profiles
    change only sizes, see ``lsid/profiles.py``)."""
    cfg = AOIConfig(name=name)
    head = [
        "# lsid area-of-interest file: every key, its default, its meaning and unit, its allowed range.",
        "# Keep only the keys you change. Merge order (later wins): these defaults < this file's top level",
        "# < the built-in profile (smoke | cpu | paper: sizes only) < this file's profiles: {<profile>: {...}}.",
        "# A real area: synthetic: false and its data under inputs: {ascending: {format: ..., path: ...}}.",
    ]
    return "\n".join(head + _lines(AOIConfig, cfg.to_dict(), 0)) + "\n"
