"""The report's content, independent of its format: sections of paragraphs, tables and figures.

:func:`build_document` reads evaluation run folders (``metrics.json`` with ``kind`` verify, identify, detect or
speed) and training run folders (``history.json``) and writes the paper's text around their numbers. The HTML and
LaTeX renderers (:mod:`facerec.report.html`, :mod:`facerec.report.latex`) only lay it out.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facerec.errors import ConfigurationError

__all__ = [
    "Document",
    "Figure",
    "Paragraph",
    "RunInfo",
    "Section",
    "Table",
    "build_document",
    "classify_runs",
    "num",
    "pct",
    "relative",
    "resolve_refs",
]

#: The section titles, in the order of an IEEE conference paper.
SECTION_TITLES = ("Introduction", "Data", "Method", "Experiments", "Results", "Conclusion", "Reproducibility")


@dataclass
class Paragraph:
    """Plain text (no markup); ``code`` paragraphs are set in a fixed-width font."""

    text: str
    code: bool = False


@dataclass
class Table:
    """A table with a caption (placed above it, as IEEE does); ``wide`` spans both columns."""

    caption: str
    header: list[str]
    rows: list[list[str]]
    label: str
    wide: bool = False


@dataclass
class Figure:
    """One or more images side by side with one caption; ``wide`` spans both columns.

    Attributes:
        images: ``(png, svg or None)`` file pairs.
    """

    caption: str
    images: list[tuple[Path, Path | None]]
    label: str
    wide: bool = False


Block = Paragraph | Table | Figure


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)


@dataclass
class Document:
    title: str
    author: str
    date: str
    abstract: str
    sections: list[Section]
    keywords: list[str] = field(default_factory=list)

    def section(self, title: str) -> Section:
        for s in self.sections:
            if s.title == title:
                return s
        raise KeyError(title)

    def figures(self) -> list[Figure]:
        out: list[Figure] = []

        def walk(section: Section) -> None:
            out.extend(b for b in section.blocks if isinstance(b, Figure))
            for sub in section.subsections:
                walk(sub)

        for s in self.sections:
            walk(s)
        return out


# -- formatting helpers -----------------------------------------------------------------------------------------
def pct(value: Any, digits: int = 2) -> str:
    """``0.9912`` -> ``"99.12%"`` (``"--"`` for missing)."""
    if value is None:
        return "--"
    return f"{100.0 * float(value):.{digits}f}%"


def num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "--"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.{digits}f}"


def _far_label(far: float) -> str:
    return f"{far:g}".replace("e-0", "e-")


# -- loading runs -----------------------------------------------------------------------------------------------
@dataclass
class RunInfo:
    path: Path
    kind: str
    metrics: dict[str, Any]
    command: str
    manifest: dict[str, Any]
    versions: dict[str, Any]

    def file(self, name: str) -> Path | None:
        p = self.path / name
        return p if p.is_file() else None

    def figure(self, stem: str) -> tuple[Path, Path | None] | None:
        png = self.file(f"{stem}.png")
        if png is None:
            return None
        return png, self.file(f"{stem}.svg")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def classify_runs(run_dirs: list[Path], training_runs: list[Path]) -> tuple[list[RunInfo], list[RunInfo]]:
    """Split folders into evaluation runs (``metrics.json`` with a ``kind``) and training runs
    (``history.json``).

    Raises:
        ConfigurationError: a folder is neither.
    """
    evaluations: list[RunInfo] = []
    trainings: list[RunInfo] = []
    for folder in [*run_dirs, *training_runs]:
        folder = Path(folder)
        metrics = _read_json(folder / "metrics.json")
        command_file = folder / "command.txt"
        command = command_file.read_text(encoding="utf-8").strip() if command_file.is_file() else ""
        info = RunInfo(folder, str(metrics.get("kind", "")), metrics, command, _read_json(folder / "manifest.json"),
                       _read_json(folder / "versions.json"))
        if info.kind in ("verify", "identify", "detect", "speed"):
            evaluations.append(info)
        elif (folder / "history.json").is_file():
            info.kind = "training"
            info.metrics = {"history": _read_json(folder / "history.json"), "test": metrics,
                            "run": _read_json(folder / "run.json")}
            trainings.append(info)
        else:
            raise ConfigurationError(f"{folder} is not a run folder: no metrics.json with a 'kind' (written by "
                                     "`facerec evaluate ...`) and no history.json (written by `facerec train`)")
    if not evaluations and not trainings:
        raise ConfigurationError("no run folders given")
    return evaluations, trainings


def _history(record: dict[str, Any]) -> dict[str, list[float]]:
    history = record.get("history", record)
    return {k: list(v) for k, v in history.items() if isinstance(v, list) and v and
            all(isinstance(x, (int, float)) for x in v)}


# -- the sections -----------------------------------------------------------------------------------------------
class _Builder:
    def __init__(self, evaluations: list[RunInfo], trainings: list[RunInfo], figure_dir: Path) -> None:
        self.evaluations = evaluations
        self.trainings = trainings
        self.figure_dir = figure_dir
        self.sections = {title: Section(title) for title in SECTION_TITLES}
        self.headlines: list[str] = []
        self.findings: list[str] = []

    def of(self, kind: str) -> list[RunInfo]:
        return [r for r in self.evaluations if r.kind == kind]

    def sub(self, section: str, title: str) -> Section:
        sub = Section(title)
        self.sections[section].subsections.append(sub)
        return sub

    # -- verification ------------------------------------------------------------------------------------------
    def verification(self, run: RunInfo, n: int) -> None:
        m = run.metrics
        protocol = ("LFW View 2 (pairs.txt)" if m.get("protocol") == "lfw"
                    else f"pairs from {Path(m['pairs_file']).name}")
        variants = m.get("variants", [])
        fars = [float(f) for f in m.get("far_targets", [])]
        suffix = f" {n + 1}" if len(self.of("verify")) > 1 else ""
        self.sub("Data", f"Verification pairs{suffix}").blocks.append(Paragraph(
            f"{protocol}: {m['n_pairs']} pairs ({m['n_same']} of one person, {m['n_different']} of two people) "
            f"over {m['n_photos']} photos, split into {m['n_folds']} folds. "
            + ("The folds are those of the file (each person appears in one fold only). "
               if m.get("protocol") == "lfw" else "The folds are assigned at random, stratified by label. ")
            + self._manifest_note(run)))
        rows = []
        for v in variants:
            s = v["settings"]
            fallback = s.get("fallback_detector") or "--"
            rows.append([v["variant"], s["detector"], fallback, s["pick"], str(s["landmarks"]),
                         "yes" if s["flip"] else "no", str(s["jitters"]), s["embedder"]])
        self.sub("Method", f"Verification variants{suffix}").blocks.extend([
            Paragraph("Each photo goes through detection, landmark alignment to a 150x150 chip and the 128-d "
                      "ResNet embedding; two photos are called the same person when the Euclidean distance of "
                      "their embeddings is at most a threshold (lower is stricter). The variants below differ in "
                      "the detector, the face picked when several are found, the fallback detector tried when "
                      "none is found, and test-time augmentation."),
            Table(f"Pipeline variants of the verification run{suffix}",
                  ["variant", "detector", "fallback", "pick", "landmarks", "flip", "jitters", "embedder"], rows,
                  f"tab:variants{n}", wide=len(rows) > 0),
        ])
        self.sub("Experiments", f"Verification{suffix}").blocks.append(Paragraph(
            f"For each of the {m['n_folds']} folds the distance threshold that maximises accuracy on the other "
            f"{m['n_folds'] - 1} folds is chosen and the accuracy on the held-out fold is measured; we report "
            "the mean over folds and its standard error (sample standard deviation over the square root of the "
            "number of folds). ROC AUC, equal error rate (EER) and the true-accept rate (TAR) at fixed "
            "false-accept rates (FAR) are computed on all pairs pooled. A pair whose photo yields no face is "
            "counted as an error at every threshold."))
        header = ["variant", "accuracy ± SE", "AUC", "EER", *[f"TAR@{_far_label(f)}" for f in fars],
                  "threshold", "no face"]
        table_rows = []
        for v in variants:
            table_rows.append([v["variant"], f"{pct(v['accuracy'])} ± {pct(v['accuracy_se'])}", num(v["auc"], 4),
                               pct(v["eer"]), *[pct(v.get(f"tar_at_far_{f:g}")) for f in fars],
                               num(v["mean_threshold"]), str(v["n_pairs_missing"])])
        results = self.sub("Results", f"Verification{suffix}")
        best = max(variants, key=lambda v: v["accuracy"]) if variants else None
        if best is not None:
            results.blocks.append(Paragraph(
                f"Table {self._ref(f'tab:verify{n}')} lists the scores. The best variant, {best['variant']}, "
                f"reaches {pct(best['accuracy'])} ± {pct(best['accuracy_se'])} accuracy with an EER of "
                f"{pct(best['eer'])}; {best['n_pairs_missing']} of {best['n_pairs']} pairs had a photo without a "
                "detected face."))
            floored = [v["variant"] for v in variants
                       if v["n_pairs_missing"] and any(v.get(f"tar_at_far_{f:g}") == 0.0 for f in fars)]
            if floored:
                results.blocks.append(Paragraph(
                    "A mismatched pair with a photo without a face counts as a false accept at every threshold, "
                    "so without a fallback detector the false-accept rate cannot fall below the share of such "
                    f"pairs; that is why the TAR at the lowest FARs is 0 for {', '.join(floored)}."))
            self.headlines.append(f"{pct(best['accuracy'])} ± {pct(best['accuracy_se'])} verification accuracy on "
                                  f"{protocol.split(' (')[0]} ({best['variant']})")
            self.findings.append(
                f"verification accuracy {pct(best['accuracy'])} ± {pct(best['accuracy_se'])} with TAR "
                f"{pct(best.get('tar_at_far_0.001'))} at FAR 0.1%" if 0.001 in fars else
                f"verification accuracy {pct(best['accuracy'])} ± {pct(best['accuracy_se'])}")
        results.blocks.append(Table(f"Verification on {protocol}: {m['n_folds']}-fold accuracy and pooled "
                                    "ROC statistics (threshold: mean chosen distance threshold)",
                                    header, table_rows, f"tab:verify{n}", wide=True))
        images = [f for f in (run.figure("roc"), run.figure("det")) if f is not None]
        if images:
            results.blocks.append(Figure(
                "Verification: (left) ROC curves, true-accept rate against false-accept rate on a log scale; "
                "(right) DET curves, false-reject against false-accept rate on normal-deviate axes.",
                images, f"fig:roc{n}", wide=len(images) > 1))
        if best is not None and best.get("errors"):
            err_rows = []
            for e in best["errors"][:5] + [e for e in best["errors"] if e["kind"] == "false accept"][:5]:
                row = [e["kind"], e["photo_a"], e["photo_b"], num(e["distance"]), num(e["threshold"])]
                if row not in err_rows:
                    err_rows.append(row)
            results.blocks.append(Table(
                f"Examples of verification errors ({best['variant']}): the false rejects with the largest "
                "distances and the false accepts with the smallest", ["error", "photo A", "photo B", "distance",
                                                                      "threshold"], err_rows, f"tab:vererr{n}",
                wide=True))

    # -- identification ----------------------------------------------------------------------------------------
    def identification(self, run: RunInfo, n: int) -> None:
        m = run.metrics
        split = m["split"]
        fars = [float(f) for f in m.get("far_targets", [])]
        ids = m.get("identifiers", [])
        suffix = f" {n + 1}" if len(self.of("identify")) > 1 else ""
        data_name = Path(m["data_dir"]).name
        self.sub("Data", f"Identification set{suffix}").blocks.append(Paragraph(
            f"The people of {data_name} with at least {m['min_images']} photos: {split['n_known'] + split['n_unknown']}"
            f" people, {m['n_photos']} photos ({m['n_photos_no_face']} without a detected face). With seed "
            f"{split['seed']}, {split['n_unknown']} people ({pct(m['unknown_fraction'], 0)}) are held out as "
            f"unknown ({split['n_unknown_probes']} photos); the photos of the {split['n_known']} others are split "
            f"per person into {split['n_gallery']} gallery and {split['n_probes']} probe photos "
            f"({pct(1 - m['probe_fraction'], 0)}/{pct(m['probe_fraction'], 0)}). " + self._manifest_note(run)))
        p = m.get("pipeline", {})
        self.sub("Method", f"Identifiers{suffix}").blocks.append(Paragraph(
            f"Embeddings come from the same pipeline ({p.get('detector')} detector, {p.get('pick')} face, "
            f"{p.get('landmarks')}-point alignment, {p.get('embedder')} embedder). Three identifiers are fitted on "
            "the gallery embeddings: the nearest person centroid (score: minus the distance), k nearest "
            "neighbours (k=5, distance-weighted vote; ties and the open-set score use the distance to the "
            "person's nearest gallery face) and a linear SVM with calibrated probabilities (score: the "
            "probability)."
            + (" Trained Keras models are scored as they are, on their own class list." if any(
                i["identifier"].startswith("keras:") for i in ids) else "")))
        self.sub("Experiments", f"Identification{suffix}").blocks.append(Paragraph(
            "Closed set: each probe of a known person is ranked against every known person; the cumulative "
            "match characteristic (CMC) gives the fraction of probes whose person is within the first k ranks. "
            "Open set: probes of known and unknown people are mixed; a probe is accepted when its best score "
            "exceeds a threshold set so that at most a given fraction of the unknown probes is accepted (the "
            "false-alarm rate, FAR), and the detection-and-identification rate (DIR) is the fraction of known "
            "probes that are accepted and named correctly. Per-person precision and recall are macro-averaged."))
        header = ["identifier", "top-1", "top-5", *[f"DIR@FAR={_far_label(f)}" for f in fars], "precision",
                  "recall"]
        rows = [[i["identifier"], pct(i["top1"]), pct(i["top5"]),
                 *[pct(i.get(f"dir_at_far_{f:g}")) for f in fars], pct(i["macro_precision"]),
                 pct(i["macro_recall"])] for i in ids]
        results = self.sub("Results", f"Identification{suffix}")
        best = max(ids, key=lambda i: i["top1"]) if ids else None
        if best is not None:
            first_far = fars[0] if fars else None
            results.blocks.append(Paragraph(
                f"Table {self._ref(f'tab:identify{n}')} lists the scores; the best identifier, "
                f"{best['identifier']}, names {pct(best['top1'])} of the probes at rank 1 and {pct(best['top5'])} "
                "within the first five."
                + (f" In the open set it still names {pct(best.get(f'dir_at_far_{first_far:g}'))} correctly while "
                   f"accepting {pct(first_far, 0)} of the unknown people." if first_far is not None else "")))
            self.headlines.append(f"{pct(best['top1'])} rank-1 identification among {split['n_known']} people "
                                  f"({best['identifier']})")
            self.findings.append(f"rank-1 identification {pct(best['top1'])} ({best['identifier']})")
        results.blocks.append(Table(f"Identification on {data_name} ({split['n_known']} known people, "
                                    f"{split['n_probes']} probes; {split['n_unknown']} unknown people)",
                                    header, rows, f"tab:identify{n}", wide=len(header) > 6))
        curves = [f for f in (run.figure("cmc"), run.figure("dir_far")) if f is not None]
        if curves:
            results.blocks.append(Figure(
                "Identification: (left) CMC curves, closed set; (right) open-set detection-and-identification "
                "rate against the false-alarm rate on unknown people.", curves, f"fig:cmc{n}",
                wide=len(curves) > 1))
        maps = [f for f in (run.figure("confusion"), run.figure("tsne")) if f is not None]
        if maps:
            people = m.get("tsne_people", [])
            results.blocks.append(Figure(
                f"(left) Row-normalised confusion matrix of the top-1 answers of {m.get('best_identifier')}; "
                f"(right) t-SNE map of the embeddings of the {len(people)} people with the most photos, one "
                "colour per person.", maps, f"fig:maps{n}", wide=len(maps) > 1))
        if best is not None and best.get("errors"):
            results.blocks.append(Table(
                f"Examples of identification errors ({best['identifier']}), most confident first",
                ["photo", "true", "answer", "score", "true rank"],
                [[e["photo"].split("/")[-1], e["true"], e["predicted"], num(e["confidence"]),
                  str(e["true_rank"])] for e in best["errors"][:8]], f"tab:iderr{n}", wide=True))

    # -- detection ---------------------------------------------------------------------------------------------
    def detection(self, run: RunInfo, n: int) -> None:
        m = run.metrics
        suffix = f" {n + 1}" if len(self.of("detect")) > 1 else ""
        self.sub("Data", f"Detection ground truth{suffix}").blocks.append(Paragraph(
            f"{m['n_images']} annotated photos with {m['n_faces']} faces ({Path(m['annotations']).name}). A "
            f"detection matches a face at IoU >= {m['iou_threshold']} (>= {m['landmark_box_iou']} where the "
            "annotation is the tight box of the landmarks, which is smaller than any detector's box). "
            + self._manifest_note(run)))
        self.sub("Experiments", f"Detection{suffix}").blocks.append(Paragraph(
            f"Each detector runs at upsample {m['upsample']} on every photo. Detections are matched greedily in "
            "order of falling score; precision and recall are over all detections, and average precision (AP) is "
            "the area under the interpolated precision-recall curve (PASCAL VOC all-point rule). Time is the "
            "detector alone, image loading excluded."))
        dets = m.get("detectors", [])
        rows = [[d["detector"], pct(d["precision"]), pct(d["recall"]), num(d["ap"]), num(d["ms_per_image"], 1),
                 f"{d['n_true_positives']}/{d['n_faces']}"] for d in dets]
        results = self.sub("Results", f"Detection{suffix}")
        if dets:
            best = max(dets, key=lambda d: d["ap"] or 0.0)
            results.blocks.append(Paragraph(
                f"Table {self._ref(f'tab:detect{n}')}: {best['detector']} has the highest AP ({num(best['ap'])}) "
                f"and finds {pct(best['recall'])} of the faces in {num(best['ms_per_image'], 0)} ms per photo."))
            self.headlines.append(f"face detection AP {num(best['ap'])} ({best['detector']})")
            self.findings.append(f"detection AP {num(best['ap'])} and recall {pct(best['recall'])} "
                                 f"({best['detector']})")
        results.blocks.append(Table(f"Face detection on {m['n_images']} annotated photos",
                                    ["detector", "precision", "recall", "AP", "ms/image", "found"], rows,
                                    f"tab:detect{n}"))
        pr = run.figure("pr")
        if pr is not None:
            results.blocks.append(Figure("Precision-recall curves of the detectors (pooled over the photos).",
                                         [pr], f"fig:pr{n}"))

    # -- speed -------------------------------------------------------------------------------------------------
    def speed(self, run: RunInfo, n: int) -> None:
        m = run.metrics
        suffix = f" {n + 1}" if len(self.of("speed")) > 1 else ""
        sizes = m.get("sizes", [])
        self.sub("Experiments", f"Speed{suffix}").blocks.append(Paragraph(
            f"Each stage is timed on its own ({m['repeats']} repeats, fastest kept) at "
            f"{', '.join(s['label'] for s in sizes)} with the {m['detector']} detector and the {m['embedder']} "
            f"embedder on a machine with {m.get('cpu_count')} CPU cores"
            + (f" (1-minute load average {m['load_average_1min']:.1f} during the run: other work shared the "
               "cores, so these are upper bounds)" if (m.get("load_average_1min") or 0) > (m.get("cpu_count") or 1)
               else "")
            + "; search is a brute-force nearest neighbour "
            f"among {m['gallery_size']} enrolled embeddings. Throughput is end-to-end photos per second with "
            "several worker processes."))
        stages = ["load", "detect", "landmarks", "align", "encode", "search"]
        rows = [[s["label"], str(s["faces"]), *[num(s["stage_ms"][k], 1) for k in stages],
                 num(s["stage_ms"]["end_to_end"], 1), num(s.get("fps_end_to_end"), 1)] for s in sizes]
        results = self.sub("Results", f"Speed{suffix}")
        if sizes:
            small, big = sizes[0], sizes[-1]
            total = big["stage_ms"]["end_to_end"] or 1.0
            share = big["stage_ms"]["detect"] / total
            results.blocks.append(Paragraph(
                f"Table {self._ref(f'tab:speed{n}')}: one photo takes {num(small['stage_ms']['end_to_end'], 0)} ms "
                f"end to end at {small['label']} and {num(big['stage_ms']['end_to_end'], 0)} ms at {big['label']}; "
                f"detection is {pct(min(share, 1.0), 0)} of it at {big['label']}, while landmarks, alignment, "
                f"encoding and search together stay near {num(sum(big['stage_ms'][k] for k in stages[2:]), 0)} ms."
                + (f" With {m['throughput'][-1]['workers']} workers the pipeline handles "
                   f"{num(m['throughput'][-1]['images_per_second'], 2)} photos per second against "
                   f"{num(m['throughput'][0]['images_per_second'], 2)} with {m['throughput'][0]['workers']}."
                   if len(m.get("throughput", [])) > 1 else "")))
        results.blocks.append(Table("Milliseconds per stage and end-to-end frames per second",
                                    ["size", "faces", *stages, "total", "fps"], rows, f"tab:speed{n}", wide=True))
        through = m.get("throughput", [])
        if through:
            results.blocks.append(Table("End-to-end throughput with worker processes",
                                        ["workers", "photos", "seconds", "photos/s"],
                                        [[str(t["workers"]), str(t["images"]), num(t["seconds"], 2),
                                          num(t["images_per_second"], 2)] for t in through], f"tab:through{n}"))
        if sizes:
            big = sizes[-1]
            self.findings.append(f"{num(big['stage_ms']['end_to_end'], 0)} ms end to end at {big['label']}")
        fig = run.figure("speed")
        if fig is not None:
            results.blocks.append(Figure("Time per pipeline stage at each image size.", [fig], f"fig:speed{n}"))

    # -- training ----------------------------------------------------------------------------------------------
    def training(self) -> None:
        if not self.trainings:
            return
        histories = {}
        rows = []
        for t in self.trainings:
            name = t.path.name
            hist = _history(t.metrics["history"])
            if hist:
                histories[name] = hist
            test = t.metrics.get("test", {})
            rows.append([name, str(test.get("model", t.metrics.get("run", {}).get("model", "--"))),
                         str(test.get("people", "--")), str(test.get("train_images", "--")),
                         str(test.get("epochs_run", len(hist.get("loss", [])) or "--")),
                         pct(test.get("accuracy"))])
        self.sub("Experiments", "Training").blocks.append(Paragraph(
            "Classifiers trained with facerec train (Keras) are compared by their learning curves (loss and "
            "accuracy per epoch on training and validation photos) and their accuracy on held-out test photos."))
        results = self.sub("Results", "Training")
        scored = [(t.path.name, t.metrics.get("test", {}).get("accuracy")) for t in self.trainings]
        scored = [(name, acc) for name, acc in scored if isinstance(acc, (int, float))]
        if scored:
            top = max(scored, key=lambda item: item[1])
            results.blocks.append(Paragraph(
                f"Table {self._ref('tab:training')}: of {len(scored)} trained classifiers, {top[0]} reaches the "
                f"highest test accuracy, {pct(top[1])}; Fig. {self._ref('fig:learning')} shows how each run's "
                "training and validation curves developed."))
        results.blocks.append(Table("Trained classifiers: test accuracy", ["run", "model", "people", "train photos",
                                                                          "epochs", "test accuracy"], rows,
                                    "tab:training"))
        if histories:
            from facerec.evaluation.plots import learning_curves_figure

            self.figure_dir.mkdir(parents=True, exist_ok=True)
            fig = learning_curves_figure(histories)
            png = self.figure_dir / "learning_curves.png"
            svg = self.figure_dir / "learning_curves.svg"
            fig.savefig(png, dpi=150, bbox_inches="tight")
            fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
            import matplotlib.pyplot as plt

            plt.close(fig)
            results.blocks.append(Figure("Learning curves: (left) loss, (right) accuracy per epoch; solid lines "
                                         "training, dashed lines validation.", [(png, svg)], "fig:learning",
                                         wide=True))

    # -- helpers -----------------------------------------------------------------------------------------------
    @staticmethod
    def _ref(label: str) -> str:
        return "\u0000ref:" + label + "\u0000"

    @staticmethod
    def _manifest_note(run: RunInfo) -> str:
        files = run.manifest.get("files", [])
        if not files:
            return ""
        first = files[0]
        note = f"The run read {len(files)} data files, listed with their SHA-256 in its manifest"
        protocol_file = next((f for f in files if str(f.get("path", "")).endswith((".txt", ".json", ".csv"))), None)
        chosen = protocol_file or first
        if chosen.get("sha256"):
            note += f" ({Path(chosen['path']).name}: {chosen['sha256'][:12]}...)"
        return note + "."

    def build(self, title: str, author: str) -> Document:
        counters: dict[str, int] = {}
        for run in self.evaluations:
            n = counters.get(run.kind, 0)
            counters[run.kind] = n + 1
            getattr(self, {"verify": "verification", "identify": "identification", "detect": "detection",
                           "speed": "speed"}[run.kind])(run, n)
        self.training()
        intro = self.sections["Introduction"]
        intro.blocks.append(Paragraph(
            "facerec is a face recognition library built on dlib's pretrained models: a HOG or CNN face "
            "detector, a shape predictor that finds 5 or 68 landmarks, an alignment step that cuts a 150x150 chip "
            "and a ResNet that maps the chip to a 128-d embedding in which photos of one person lie within a "
            "distance of about 0.6. This report measures how well that pipeline verifies pairs of photos, names "
            "people from a gallery, finds faces, and how fast it runs on a plain CPU. Every number comes from a "
            "run folder written by facerec evaluate, which records the exact command, the library versions and "
            "the SHA-256 of every data file read."))
        method = self.sections["Method"]
        method.blocks.insert(0, Paragraph(
            "Detection uses dlib's HOG + linear SVM detector (hog) or its MMOD CNN detector (cnn, run on ONNX "
            "Runtime). Landmarks come from dlib's shape predictors; the chip is aligned on 5 points (the "
            "alignment the ResNet was trained with) unless stated. The embedding network is dlib's 29-layer "
            "ResNet (run by dlib or, converted, by ONNX Runtime; the two agree within 1e-5)."))
        conclusion = self.sections["Conclusion"]
        if self.findings:
            conclusion.blocks.append(Paragraph(
                "In summary: " + "; ".join(self.findings) + ". The tables of errors point at where the pipeline "
                "fails: photos in which the detector finds no face or picks the wrong one, and people who look "
                "alike at the resolution of the chip."))
        repro = self.sections["Reproducibility"]
        repro.blocks.append(Paragraph("Each result was produced by one command; the run folders hold the metrics "
                                      "as JSON, the plots as PNG and SVG, the library versions and the data "
                                      "manifest."))
        versions = next((r.versions for r in self.evaluations if r.versions), {})
        if versions:
            keep = ("python", "facerec", "numpy", "dlib-bin", "onnxruntime", "scikit-learn")
            repro.blocks.append(Paragraph("Versions: " + ", ".join(f"{k} {versions[k]}" for k in keep
                                                                   if k in versions) + "."))
        for run in self.evaluations + self.trainings:
            if run.command:
                repro.blocks.append(Paragraph(run.command, code=True))
        abstract = ("We evaluate facerec, a face recognition pipeline on dlib's pretrained detector, landmark and "
                    "embedding models, with reproducible protocols for verification, identification, detection "
                    "and speed. " + ("Headline results: " + "; ".join(self.headlines) + "." if self.headlines
                                     else ""))
        sections = [self.sections[t] for t in SECTION_TITLES
                    if self.sections[t].blocks or self.sections[t].subsections]
        return Document(title=title, author=author, date=_dt.date.today().isoformat(), abstract=abstract,
                        sections=sections, keywords=["face recognition", "verification", "LFW", "dlib"])


def build_document(run_dirs: list[Path], training_runs: list[Path], figure_dir: Path, *, title: str,
                   author: str) -> Document:
    """The report's content from run folders (see the module docstring).

    Args:
        run_dirs: evaluation (and training) run folders.
        training_runs: training run folders given separately.
        figure_dir: where figures made for the report itself (learning curves) are written.
        title, author: the title block.
    """
    evaluations, trainings = classify_runs([Path(p) for p in run_dirs], [Path(p) for p in training_runs])
    order = {"verify": 0, "identify": 1, "detect": 2, "speed": 3}
    evaluations.sort(key=lambda r: order[r.kind])
    return _Builder(evaluations, trainings, Path(figure_dir)).build(title, author)


def resolve_refs(text: str, render: Any) -> str:
    """Replace the reference markers in ``text`` with ``render(label)``."""
    parts = text.split("\u0000")
    out = []
    for part in parts:
        if part.startswith("ref:"):
            out.append(render(part[4:]))
        else:
            out.append(part)
    return "".join(out)


def relative(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)
