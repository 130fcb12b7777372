"""The ``facerec`` command line (placeholder until the CLI lands)."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("facerec CLI: not yet built")
