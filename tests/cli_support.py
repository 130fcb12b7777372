"""What the command-line tests share: running ``facerec`` in-process the way a shell would."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result

from facerec.cli import cli


def run(*args: Any) -> Result:
    """``facerec ARGS`` through click's runner: no traceback in the output, and an exception that is not a normal
    exit (``SystemExit``) raised again so that the test shows it."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result
