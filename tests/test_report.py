"""``facerec report``: the HTML page and the IEEE-style PDF built from run folders.

The run folders here are written by the library from synthetic numbers (no models needed); the PDF tests need
pdflatex (``bash tools/setup_latex.sh`` installs it) and skip without it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from facerec.cli.evaluate_cmds import report
from facerec.errors import ConfigurationError
from facerec.evaluation import plots
from facerec.evaluation.runs import RunFolder
from facerec.report import build_report
from facerec.report.latex import latex_escape

SECTIONS = ("Introduction", "Data", "Method", "Experiments", "Results", "Conclusion")


def _verify_run(base: Path) -> Path:
    run = RunFolder.create(base, "verify", "verify-lfw")
    far = np.array([0.0, 0.001, 0.01, 0.1, 1.0])
    tar = np.array([0.0, 0.9, 0.97, 0.995, 1.0])
    variant = {
        "variant": "base", "accuracy": 0.98734, "accuracy_se": 0.00151, "auc": 0.9981, "eer": 0.0123,
        "thresholds": [0.55] * 10, "mean_threshold": 0.55, "fixed_threshold": 0.6, "fixed_accuracy": 0.97,
        "n_pairs": 6000, "n_pairs_missing": 7, "n_photos": 7701, "n_photos_missing": 4,
        "tar_at_far_0.1": 0.995, "tar_at_far_0.01": 0.97, "tar_at_far_0.001": 0.9,
        "settings": {"name": "base", "detector": "hog", "embedder": "onnx", "upsample": 1, "landmarks": 5,
                     "flip": False, "jitters": 1, "fallback_detector": None, "pick": "largest"},
        "errors": [{"kind": "false reject", "photo_a": "Ann_Lee/Ann_Lee_0001.jpg",
                    "photo_b": "Ann_Lee/Ann_Lee_0002.jpg",
                    "distance": 0.81, "threshold": 0.55, "fold": 0},
                   {"kind": "false accept", "photo_a": "Bo_Li/Bo_Li_0001.jpg", "photo_b": "Cy_Wu/Cy_Wu_0001.jpg",
                    "distance": 0.41, "threshold": 0.55, "fold": 3}],
    }
    run.write_metrics({"kind": "verify", "protocol": "lfw", "pairs_file": "lfw/pairs.txt", "n_pairs": 6000,
                       "n_same": 3000, "n_different": 3000, "n_folds": 10, "n_photos": 7701,
                       "far_targets": [0.1, 0.01, 0.001], "variants": [variant]})
    run.save_figure(plots.roc_figure({"base": (far, tar)}), "roc")
    run.save_figure(plots.det_figure({"base": (far, 1 - tar)}), "det")
    run.finish(command="facerec evaluate verify lfw/pairs.txt", data_files=[])
    return run.path


def _identify_run(base: Path) -> Path:
    run = RunFolder.create(base, "identify", "identify-lfw")
    cmc = [0.9512, 0.97, 0.98, 0.99, 0.995]
    entry = {"identifier": "centroid", "top1": 0.9512, "top5": 0.995, "macro_precision": 0.94, "macro_recall": 0.93,
             "n_probes_no_face": 0, "dir_at_far_0.1": 0.91, "dir_at_far_0.01": 0.8, "cmc": cmc,
             "dir_at_far": {"0.1": {"dir": 0.91, "threshold": -0.5, "far": 0.1}},
             "errors": [{"photo": "Ann_Lee/Ann_Lee_0003.jpg", "true": "Ann_Lee", "predicted": "Bo_Li",
                         "confidence": -0.45, "true_rank": 2}]}
    run.write_metrics({"kind": "identify", "data_dir": "lfw/images", "min_images": 10, "n_photos": 4324,
                       "n_photos_no_face": 3, "probe_fraction": 0.3, "unknown_fraction": 0.2,
                       "split": {"n_known": 126, "n_unknown": 32, "n_gallery": 2500, "n_probes": 1000,
                                 "n_unknown_probes": 800, "seed": 0},
                       "pipeline": {"detector": "hog", "pick": "central", "landmarks": 5, "embedder": "onnx"},
                       "far_targets": [0.1, 0.01], "identifiers": [entry], "best_identifier": "centroid",
                       "tsne_people": ["Ann_Lee", "Bo_Li"]})
    run.save_figure(plots.cmc_figure({"centroid": cmc}), "cmc")
    run.save_figure(plots.dir_far_figure({"centroid": (np.array([0.01, 0.1, 1.0]), np.array([0.8, 0.91, 0.95]))}),
                    "dir_far")
    run.save_figure(plots.confusion_figure(np.array([[5, 1], [0, 6]]), ["Ann_Lee", "Bo_Li"]), "confusion")
    rng = np.random.default_rng(0)
    run.save_figure(plots.embedding_map_figure(rng.normal(size=(10, 2)), ["Ann_Lee"] * 5 + ["Bo_Li"] * 5), "tsne")
    run.finish(command="facerec evaluate identify lfw/images", data_files=[])
    return run.path


def _detect_run(base: Path) -> Path:
    run = RunFolder.create(base, "detect", "detect-gt")
    run.write_metrics({"kind": "detect", "annotations": "annotations.json", "n_images": 13, "n_faces": 47,
                       "iou_threshold": 0.5, "landmark_box_iou": 0.3, "upsample": 1,
                       "detectors": [{"detector": "hog", "upsample": 1, "precision": 0.94, "recall": 0.9787,
                                      "ap": 0.9741, "ms_per_image": 120.0, "n_faces": 47, "n_detections": 49,
                                      "n_true_positives": 46}]})
    run.save_figure(plots.precision_recall_figure({"hog": (np.array([0.5, 0.97]), np.array([1.0, 0.94]))}), "pr")
    run.finish(command="facerec evaluate detect annotations.json", data_files=[])
    return run.path


def _training_run(base: Path) -> Path:
    folder = base / "train-convnet"
    folder.mkdir()
    (folder / "history.json").write_text(json.dumps({"history": {
        "loss": [2.0, 1.2, 0.8], "val_loss": [2.1, 1.5, 1.1], "accuracy": [0.3, 0.6, 0.8],
        "val_accuracy": [0.25, 0.5, 0.7]}, "best_epoch": 3}), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps({"accuracy": 0.71, "model": "convnet", "people": 5,
                                                     "train_images": 100, "epochs_run": 3}), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("runs")
    return [_verify_run(base), _identify_run(base), _detect_run(base), _training_run(base)]


def test_report_html_is_self_contained(runs: list[Path], tmp_path: Path) -> None:
    files = build_report(runs, tmp_path, pdf="no")
    page = files["html"].read_text(encoding="utf-8")
    for title in SECTIONS:
        assert f"{title}</h2>" in page
    assert "98.73% ± 0.15%" in page            # verification accuracy ± SE
    assert "95.12%" in page                    # rank-1 identification
    assert "0.974" in page                     # detection AP
    assert page.count("<svg") >= 7             # ROC, DET, CMC, DIR, confusion, t-SNE, PR, learning curves
    assert not re.search(r'(src|href)="(?!data:|#)', page)   # nothing loaded from outside
    assert "Ann_Lee/Ann_Lee_0001.jpg" in page  # the error examples table
    assert "facerec evaluate verify lfw/pairs.txt" in page
    assert (tmp_path / "figures" / "learning_curves.svg").is_file()
    assert "pdf" not in files


def test_report_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a run folder"):
        build_report([tmp_path], tmp_path / "out", pdf="no")


def test_latex_escape_specials() -> None:
    assert latex_escape("a_b 50% #1 & ±") == r"a\_b 50\% \#1 \& $\pm$"


needs_latex = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("pdftotext") is None,
                                 reason="pdflatex/pdftotext not installed; run `bash tools/setup_latex.sh` "
                                        "(Debian texlive-latex-base, -latex-recommended, -fonts-recommended, "
                                        "-publishers, poppler-utils)")


def _pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


@needs_latex
def test_report_pdf_is_an_ieee_paper_with_the_numbers(runs: list[Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(report, [*map(str, runs), "--out", str(tmp_path), "--latex", "--pdf", "yes"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert _pdf_pages(pdf) >= 2
    text = _pdf_text(pdf)
    flat = re.sub(r"\s+", " ", text)
    squeezed = re.sub(r"\s+", "", text).upper()  # IEEE headings are small caps: "I NTRODUCTION"
    for title in SECTIONS:
        assert title.upper() in squeezed, title
    assert "Abstract" in flat
    assert "98.73%" in flat and "95.12%" in flat and "0.974" in flat
    tex = (tmp_path / "latex" / "report.tex").read_text(encoding="utf-8")
    assert r"\documentclass[conference]{IEEEtran}" in tex or r"twocolumn" in tex
    assert r"\includegraphics" in tex and "Ann\\_Lee" in tex
    assert "html:" in result.output and "pdf:" in result.output


def test_report_pdf_yes_without_pdflatex_is_a_clear_error(runs: list[Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setattr("facerec.report.latex.shutil.which", lambda name: None)
    result = CliRunner().invoke(report, [str(runs[0]), "--out", str(tmp_path), "--pdf", "yes"])
    assert result.exit_code == 2
    assert "pdflatex is not installed" in result.output and "tools/setup_latex.sh" in result.output
