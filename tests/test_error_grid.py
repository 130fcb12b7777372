"""Verification errors as pictures: the grid of face-chip pairs, ``evaluate verify`` writing it, and the report
(HTML; the LaTeX source when pdflatex is present) showing it."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from facerec.evaluation.embedding_cache import Variant
from facerec.evaluation.error_grid import error_grid, face_chip_for


@pytest.fixture(scope="module")
def blank_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blank") / "wall.png"
    Image.new("RGB", (200, 200), (90, 120, 60)).save(path)
    return path


def test_grid_shows_both_chips_of_each_pair_and_a_tile_for_no_face(test_images: Path, blank_photo: Path) -> None:
    variant = Variant(embedder="onnx", upsample=0)
    errors: list[dict[str, Any]] = [
              {"kind": "false accept", "photo_a": "obama.jpg", "photo_b": "biden.jpg", "distance": 0.55,
               "threshold": 0.6, "fold": 0},
              {"kind": "false reject (no face)", "photo_a": "obama2.jpg", "photo_b": str(blank_photo),
               "distance": None, "threshold": 0.6, "fold": 1}]
    grid = error_grid(errors, lambda key: test_images / key, variant, chip_px=150, columns=1)
    pixels = np.asarray(grid)
    assert grid.size == (2 * 150 + 12, 2 * (150 + 34 + 12))
    obama = face_chip_for(test_images / "obama.jpg", variant, 150)
    biden = face_chip_for(test_images / "biden.jpg", variant, 150)
    assert obama is not None and biden is not None
    np.testing.assert_array_equal(pixels[6:156, 6:156], obama)        # chip A, then chip B beside it
    np.testing.assert_array_equal(pixels[6:156, 156:306], biden)
    second = pixels[196 + 6:196 + 156, 156:306]                        # the blank photo: grey "no face" tile
    assert (second == 200).mean() > 0.9
    assert face_chip_for(blank_photo, variant, 150) is None
    assert error_grid([], lambda key: Path(key), variant).size[1] == 40


def test_evaluate_verify_writes_an_error_grid_and_the_report_shows_it(test_images: Path, tmp_path: Path) -> None:
    from facerec.cli.evaluate_cmds import evaluate
    from facerec.report import build_report

    pairs = tmp_path / "pairs.csv"
    rows = [("obama.jpg", "obama2.jpg", 1), ("obama.jpg", "biden.jpg", 1),  # a labelled error: a false reject
            ("obama2.jpg", "obama3.jpg", 1), ("obama3.jpg", "biden.jpg", 0), ("obama2.jpg", "biden.jpg", 0),
            ("obama.jpg", "obama3.jpg", 0)]                                # and a false accept
    with open(pairs, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path1", "path2", "same"])
        writer.writerows(rows)
    result = CliRunner().invoke(evaluate, ["verify", str(pairs), "--data-root", str(test_images), "--folds", "2",
                                           "--upsample", "0", "--no-cache", "--out", str(tmp_path / "runs"),
                                           "--name", "v", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / "v"
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    variant = metrics["variants"][0]
    assert variant["errors"] and variant["error_grid"] == "errors-0.png"
    with Image.open(run / "errors-0.png") as grid:
        width, height = grid.size
    assert width == 2 * (2 * 112 + 12)
    assert height // (112 + 34 + 12) == (len(variant["errors"]) + 1) // 2

    files = build_report([run], tmp_path / "report", pdf="no")
    page = files["html"].read_text(encoding="utf-8")
    assert "as the pipeline saw them" in page and page.count("data:image/png;base64,") >= 1
    if shutil.which("pdflatex") is not None:
        files = build_report([run], tmp_path / "report-tex", pdf="yes", keep_latex=True)
        tex = (tmp_path / "report-tex" / "latex" / "report.tex").read_text(encoding="utf-8")
        assert "as the pipeline saw them" in tex
