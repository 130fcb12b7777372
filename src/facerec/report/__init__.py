"""The write-up of evaluation runs: a self-contained HTML page and a PDF in the layout of an IEEE conference paper.

:func:`build_report` reads run folders written by ``facerec evaluate ...`` (and training run folders with a
``history.json``), writes ``report.html`` (figures inlined as SVG) and, through ``pdflatex``, ``report.pdf``; with
``keep_latex`` the LaTeX source and its figures stay in ``<out>/latex/``.

Examples:
    >>> files = build_report(["runs/verify-lfw", "runs/identify-lfw"], "report")        # doctest: +SKIP
    >>> sorted(files)                                                                   # doctest: +SKIP
    ['html', 'pdf']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from facerec.errors import ConfigurationError

__all__ = ["build_report"]


def build_report(run_dirs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str], *,
                 training_runs: Sequence[str | os.PathLike[str]] = (), title: str = "facerec evaluation",
                 author: str = "facerec", keep_latex: bool = False,
                 pdf: Literal["auto", "yes", "no"] | str = "auto") -> dict[str, Path]:
    """Write the report of ``run_dirs`` into ``out_dir``.

    Args:
        run_dirs: evaluation run folders (and training run folders, recognised by their ``history.json``).
        out_dir: the output folder (created).
        training_runs: more training run folders.
        title, author: the title block.
        keep_latex: keep ``<out>/latex/report.tex`` and its figures.
        pdf: ``"auto"`` typesets when pdflatex is installed, ``"yes"`` requires it, ``"no"`` skips the PDF.

    Returns:
        ``{"html": path, "pdf": path, "latex": path}`` for what was written.

    Raises:
        ConfigurationError: a folder is not a run folder, or ``pdf="yes"`` without pdflatex.
        facerec.report.latex.LatexError: pdflatex failed.
    """
    from facerec.report.document import build_document
    from facerec.report.html import render_html
    from facerec.report.latex import find_pdflatex, has_ieeetran, render_latex, typeset

    if pdf not in ("auto", "yes", "no"):
        raise ConfigurationError(f"pdf must be auto, yes or no, got {pdf!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figure_dir = out / "figures"
    document = build_document([Path(p) for p in run_dirs], [Path(p) for p in training_runs], figure_dir,
                              title=title, author=author)
    files: dict[str, Path] = {}
    html_file = out / "report.html"
    html_file.write_text(render_html(document), encoding="utf-8")
    files["html"] = html_file

    want_pdf = pdf == "yes" or (pdf == "auto" and find_pdflatex() is not None)
    if not want_pdf and not keep_latex:
        _drop_empty(figure_dir)
        return files
    with tempfile.TemporaryDirectory(prefix="facerec-report-") as tmp:
        build = out / "latex" if keep_latex else Path(tmp)
        build.mkdir(parents=True, exist_ok=True)
        names: dict[Path, str] = {}
        for i, figure in enumerate(document.figures()):
            for j, (png, _svg) in enumerate(figure.images):
                name = f"fig{i + 1:02d}{chr(ord('a') + j)}-{png.stem}.png"
                shutil.copyfile(png, build / name)
                names[png] = name
        tex = build / "report.tex"
        tex.write_text(render_latex(document, names, ieeetran=has_ieeetran()), encoding="utf-8")
        if keep_latex:
            files["latex"] = tex
        if want_pdf:
            produced = typeset(tex)
            target = out / "report.pdf"
            shutil.copyfile(produced, target)
            files["pdf"] = target
    _drop_empty(figure_dir)
    return files


def _drop_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
