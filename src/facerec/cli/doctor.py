"""``facerec doctor``: what is installed and in use (versions, model files and hashes, ONNX provider)."""

from __future__ import annotations

import json
from typing import Any

import click

from facerec.cli._common import Fail


@click.command(short_help="Print versions, model files and hashes, ONNX provider.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
def doctor(as_json: bool) -> None:
    """Print versions, model files with their SHA-256 hashes, and the ONNX Runtime provider in use."""
    try:
        from facerec.doctor import doctor as diagnose
    except ImportError as exc:
        raise Fail(f"doctor is not available in this installation ({exc})") from None
    report = diagnose()
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        click.echo("\n".join(_lines(report)))


def _lines(value: Any, indent: int = 0) -> list[str]:
    """Nested dicts and lists as indented ``key  value`` lines with the keys of each level aligned."""
    pad = " " * indent
    if isinstance(value, dict):
        width = max((len(str(k)) for k in value), default=0)
        out: list[str] = []
        for key, item in value.items():
            if isinstance(item, (dict, list, tuple)) and item:
                out.append(f"{pad}{key}:")
                out.extend(_lines(item, indent + 2))
            else:
                out.append(f"{pad}{str(key).ljust(width)}  {_scalar(item)}".rstrip())
        return out
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append(f"{pad}- " + "  ".join(f"{k}={_scalar(v)}" for k, v in item.items()))
            else:
                out.append(f"{pad}- {_scalar(item)}")
        return out
    return [f"{pad}{_scalar(value)}"]


def _scalar(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)
