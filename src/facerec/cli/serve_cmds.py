"""``facerec serve`` (the REST API and web page) and ``facerec keys create|list|revoke`` (its API keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facerec.cli._common import (
    PIPELINE_KEYS,
    Fail,
    emit,
    errors_to_fail,
    output_format,
    output_options,
    pipeline_option,
    pipeline_settings,
    stack_options,
)
from facerec.cli.gallery_cmds import gallery_option

__all__ = ["COMMANDS", "keys", "serve"]

#: The pipeline option group of every verb (the same names, defaults and help), less its --workers: serve's
#: --workers are inference threads over one set of models, not worker processes. Its --max-pixels also sets the
#: size above which an upload gets 413 before it is decoded.
_servepipeline_options = stack_options(*(pipeline_option(key) for key in ("preset", *PIPELINE_KEYS[:-2])))


@click.command(short_help="Serve the REST API and the web page over a gallery.")
@gallery_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface: put TLS in front).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Inference threads over the one shared set of models (0: one per CPU core).")
@click.option("--queue", "queue_size", type=click.IntRange(min=0), default=None, metavar="N",
              help="Requests allowed to wait for a free inference thread; beyond that requests get 503 with "
                   "Retry-After. Default: 4 per thread.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              metavar="MB", help="Largest request body; larger ones get 413 (checked while reading).")
@click.option("--no-auth", is_flag=True,
              help="Serve without API keys (only on a loopback --host such as 127.0.0.1).")
@click.option("--threshold", "distance_threshold", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Largest embedding distance still called the same person. Lower is stricter; 0.6 is typical. "
                   "Default: the --calibration's threshold when one is loaded, else 0.6.")
@click.option("--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="FACEREC_CALIBRATION", show_envvar=True, metavar="FILE",
              help="Calibration JSON from \"facerec calibrate --out FILE\": match probabilities in the answers.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
@_servepipeline_options
@click.pass_context
@errors_to_fail
def serve(ctx: click.Context, /, gallery_location: str | None, host: str, port: int, workers: int,
          queue_size: int | None, max_upload_mb: float, no_auth: bool,
          distance_threshold: float | None, calibration_path: Path | None, log_level: str, **options: Any) -> None:
    """Serve the REST API under /api/v1 (OpenAPI at /docs) and the web page at / over the gallery.

    Every route but /api/v1/health needs a key in the X-API-Key header; make the first one with
    "facerec keys create --role admin --name NAME". The models load before the server accepts requests.
    """
    try:
        import uvicorn

        from facerec.service import ServiceConfig, create_app, is_loopback
    except ImportError as exc:
        raise Fail(f"the service needs the serve extra ({exc}): pip install 'facerec[serve]'") from None
    from facerec.compare import DEFAULT_DISTANCE_THRESHOLD

    pipeline = pipeline_settings(ctx, options)
    if no_auth and not is_loopback(host):
        raise Fail(f"--no-auth is only allowed on a loopback --host (127.0.0.1, ::1, localhost), not {host!r}")
    threshold = distance_threshold
    if threshold is None and calibration_path is not None:
        from facerec.cli._common import load_calibration_option

        calibration = load_calibration_option(calibration_path)
        threshold = None if calibration is None else float(calibration.threshold)
    config = ServiceConfig(gallery=gallery_location, workers=workers or None, queue_size=queue_size,
                           max_upload_mb=max_upload_mb, max_pixels=pipeline.analyzer["max_pixels"], auth=not no_auth,
                           calibration=None if calibration_path is None else str(calibration_path),
                           analyzer=pipeline.analyzer, pick=pipeline.pick,
                           distance_threshold=threshold or DEFAULT_DISTANCE_THRESHOLD)
    app = create_app(config)
    click.echo(f"facerec: serving on http://{host}:{port}/ (API docs at /docs){'' if config.auth else ', no auth'}",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


@click.group()
def keys() -> None:
    """Make, list and revoke the API keys of "facerec serve" (stored hashed in the gallery's database)."""


@keys.command("create")
@click.option("--name", required=True, help="A unique name for the key (who or what uses it).")
@click.option("--role", type=click.Choice(["read", "write", "admin"]), required=True,
              help="read: detect, embed, verify, identify, view; write: also enroll, rename, merge, delete; "
                   "admin: also keys.")
@gallery_option
@output_options
@errors_to_fail
def keys_create(name: str, role: str, gallery_location: str | None, as_json: bool, as_csv: bool) -> None:
    """Make a key and print it (once: only its hash is stored)."""
    from facerec.gallery import open_gallery
    from facerec.gallery.keys import create_key

    fmt = output_format(as_json, as_csv)
    with open_gallery(gallery_location, create=True) as gallery:
        key, token = create_key(gallery, name, role)
    if fmt == "table":
        click.echo(token)
        click.echo(f"facerec: key {key.name!r} ({key.role}) made; it is shown only this once", err=True)
        return
    emit(fmt, document=lambda: {**key.to_dict(), "key": token},
         table=lambda: (["name", "role", "key"], [[key.name, key.role, token]]))


@keys.command("list")
@gallery_option
@output_options
@errors_to_fail
def keys_list(gallery_location: str | None, as_json: bool, as_csv: bool) -> None:
    """Every key: name, role, the first characters of the key, when made."""
    from facerec.gallery import open_gallery
    from facerec.gallery.keys import list_keys

    fmt = output_format(as_json, as_csv)
    with open_gallery(gallery_location, create=False) as gallery:
        found = list_keys(gallery)
    emit(fmt, document=lambda: {"keys": [k.to_dict() for k in found]},
         table=lambda: (["id", "name", "role", "prefix", "created"],
                        [[k.id, k.name, k.role, k.prefix + "...", k.created.strftime("%Y-%m-%d %H:%M:%S")]
                         for k in found]))


@keys.command("revoke")
@click.argument("name")
@gallery_option
@errors_to_fail
def keys_revoke(name: str, gallery_location: str | None) -> None:
    """Delete key NAME: requests with it fail from now on."""
    from facerec.gallery import open_gallery
    from facerec.gallery.keys import revoke_key

    with open_gallery(gallery_location, create=False) as gallery:
        key = revoke_key(gallery, name)
    click.echo(f"revoked key {key.name!r} ({key.role})")


#: The commands to register in the main ``facerec`` group.
COMMANDS: list[click.Command] = [serve, keys]
