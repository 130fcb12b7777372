"""The pipeline option group: every verb that detects or embeds takes the same options, defaults and help."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from facerec.analyzer import FaceAnalyzer
from facerec.cli import cli
from facerec.cli._common import PIPELINE_ANALYZER_KEYS, PIPELINE_KEYS, pipeline_options, pipeline_settings
from facerec.presets import PRESETS

#: Every verb that detects or embeds, as its path under ``facerec``.
VERBS = [("detect",), ("landmarks",), ("embed",), ("verify",), ("identify",), ("enroll",), ("search",),
         ("cluster",), ("calibrate",), ("evaluate", "verify"), ("evaluate", "identify"), ("train",)]


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _signature(param: click.Parameter) -> tuple[object, ...]:
    assert isinstance(param, click.Option)
    return (tuple(param.opts), tuple(param.secondary_opts), param.default, param.help, repr(param.type),
            param.show_default, param.is_flag)


@pytest.fixture(scope="module")
def reference() -> dict[str, tuple[object, ...]]:
    @click.command()
    @pipeline_options
    def probe(**_: object) -> None:
        pass

    return {p.name: _signature(p) for p in probe.params if p.name in PIPELINE_KEYS}


@pytest.mark.parametrize("path", VERBS, ids=" ".join)
def test_pipeline_group_every_verb_has_all_options_with_one_definition(path: tuple[str, ...],
                                                                      reference: dict[str, tuple[object, ...]]) -> None:
    params = {p.name: p for p in _command(path).params}
    assert set(reference) == set(PIPELINE_KEYS)
    for key, signature in reference.items():
        assert key in params, f"facerec {' '.join(path)} lacks the {key} option"
        assert _signature(params[key]) == signature, f"facerec {' '.join(path)}: {key} differs from the group"


def test_pipeline_group_destinations_are_the_analyzer_keywords() -> None:
    import inspect

    accepted = set(inspect.signature(FaceAnalyzer).parameters)
    assert set(PIPELINE_ANALYZER_KEYS) <= accepted
    defaults = _resolve([])
    FaceAnalyzer(**{key: defaults[key] for key in PIPELINE_ANALYZER_KEYS})  # the parsed defaults are valid values


def _resolve(args: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    @click.command()
    @pipeline_options
    @click.pass_context
    def probe(ctx: click.Context, /, **options: object) -> None:
        settings = pipeline_settings(ctx, dict(options))
        seen.update(settings.analyzer, pick=settings.pick, workers=settings.workers, preset=settings.preset)

    result = CliRunner().invoke(probe, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return seen


def test_pipeline_preset_fills_in_what_is_not_given() -> None:
    fast = _resolve([])
    assert fast["num_jitters"] == 1 and fast["pick"] == "largest" and fast["flip"] is True
    assert fast["fallback_detector"] == "cnn" and fast["landmarks"] == 5
    accurate = _resolve(["--preset", "accurate"])
    assert {k: accurate[k] for k in PRESETS["accurate"]} == PRESETS["accurate"]
    mine = _resolve(["--preset", "accurate", "--jitters", "3", "--no-flip", "--fallback-detector", "none"])
    assert mine["num_jitters"] == 3 and mine["flip"] is False and mine["pick"] == "central"
    assert mine["fallback_detector"] is None
    assert _resolve(["--workers", "0"])["workers"] >= 1


def test_pipeline_options_change_what_embed_computes(test_images: Path) -> None:
    photo = str(test_images / "obama.jpg")
    runner = CliRunner()
    plain = runner.invoke(cli, ["embed", photo, "--json", "--no-flip", "--max-side", "0", "--quiet"])
    flipped = runner.invoke(cli, ["embed", photo, "--json", "--quiet"])
    assert plain.exit_code == 0 and flipped.exit_code == 0, plain.output + flipped.output
    a = json.loads(plain.output)["files"][0]["faces"][0]["embedding"]
    b = json.loads(flipped.output)["files"][0]["faces"][0]["embedding"]
    assert max(abs(x - y) for x, y in zip(a, b)) > 1e-3
    from facerec.compat.face_recognition import api

    reference = api.face_encodings(api.load_image_file(photo))[0]
    # --no-flip at full size (--max-side 0) is face_recognition's embedding
    assert max(abs(x - y) for x, y in zip(a, reference)) < 1e-5


def test_pipeline_options_train_refuses_what_it_cannot_apply(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["train", str(tmp_path), "--jitters", "4"])
    assert result.exit_code == 2 and "--jitters" in result.output


def test_pipeline_pick_chooses_the_known_face_in_identify(tmp_path: Path, test_images: Path) -> None:
    from PIL import Image

    known = tmp_path / "known"
    known.mkdir()
    pair = Image.new("RGB", (1000, 480), (128, 128, 128))  # a larger face at the left, a smaller one in the middle
    left = Image.open(test_images / "obama3.jpg").convert("RGB")
    middle = Image.open(test_images / "biden.jpg").convert("RGB")
    left = left.resize((round(left.width * 480 / left.height), 480))
    middle = middle.resize((round(middle.width * 360 / middle.height), 360))
    pair.paste(left, (0, 0))
    pair.paste(middle, (500 - middle.width // 2, 60))
    pair.save(known / "someone.jpg", quality=92)
    names = {}
    for pick in ("largest", "central"):
        result = CliRunner().invoke(cli, ["identify", "--known", str(known), "--json", "--pick", pick,
                                          str(test_images / "obama2.jpg"), str(test_images / "biden.jpg")])
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        names[pick] = [face["name"] for entry in document["files"] for face in entry["faces"]]
    assert names == {"largest": ["someone", "unknown"], "central": ["unknown", "someone"]}  # the face enrolled
    assert all(sorted(v) == ["someone", "unknown"] for v in names.values())
