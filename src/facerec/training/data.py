"""Face data sets for training: a folder per person -> aligned face chips, labels and a reproducible split.

A data set folder holds one sub-folder per person (``root/<Person_Name>/*.jpg``), as LFW does. Each photo goes
through facerec's own pipeline (detect -> 5-point landmarks -> aligned chip, :meth:`FaceAnalyzer.chips`); photos
without exactly one face are reported in :attr:`FaceDataset.skipped` and left out. With ``align=False`` the whole
photo is centre-cropped to a square and resized instead (no detection, nothing skipped but unreadable files).

Chips are cached, one ``.npz`` per photo, under ``<cache>/training-chips/`` keyed by the SHA-256 of the file and the
chip settings, so a second run (or a sweep over models) does not detect again.

:func:`stratified_split` splits the usable photos per person into train / validation / test (70/30 by default, the
validation part carved from train for early stopping) with a seeded generator; :class:`Split` round-trips through
JSON so that runs are reproducible, and :func:`load_or_create_split` re-uses an existing split file.

Images are RGB ``uint8`` arrays of shape ``(n, size, size, 3)``; labels are ``int64`` indices into
:attr:`FaceDataset.class_names` (sorted person names).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.analyzer import pick_face
from facerec.errors import ConfigurationError, ImageError
from facerec.files import IMAGE_SUFFIXES, people_folders
from facerec.types import Box, Face

__all__ = [
    "IMAGE_SUFFIXES",
    "ChipSettings",
    "FaceDataset",
    "MultipleFaces",
    "SkippedPhoto",
    "Split",
    "dataset_embeddings",
    "held_out_count",
    "list_people",
    "load_face_dataset",
    "load_or_create_split",
    "photo_chips",
    "stratified_split",
]

#: File suffixes read as photos (case-insensitive).

#: What to do with a photo in which several faces are found: ``"skip"`` it (the default) or keep the
#: ``"central"`` or ``"largest"`` one.
MultipleFaces = Literal["skip", "central", "largest"]

_CACHE_VERSION = 1
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ChipSettings:
    """How a photo becomes a training image.

    Args:
        size: chip side in pixels (150 for the face ResNet and the embedding models; 64-128 for small networks).
        padding: fraction of the face width added on each side of an aligned chip (0.25 is dlib's; larger shows
            more of the head and hair).
        align: detect and align the face (``True``) or centre-crop and resize the whole photo (``False``).
        detector: facerec detector name (``"hog"`` fast, ``"cnn"`` accurate).
        upsample: times the detector doubles the photo (0 finds faces from about 80 px, 1 from about 40 px).
        multiple_faces: a photo with several faces is skipped (``"skip"``) or its ``"central"`` / ``"largest"``
            face is kept.
    """

    size: int = 128
    padding: float = 0.25
    align: bool = True
    detector: str = "hog"
    upsample: int = 1
    multiple_faces: MultipleFaces = "skip"

    def __post_init__(self) -> None:
        if self.size < 16:
            raise ConfigurationError(f"chip size must be at least 16 pixels, got {self.size}")
        if self.padding < 0:
            raise ConfigurationError(f"chip padding must be >= 0, got {self.padding}")
        if self.multiple_faces not in ("skip", "central", "largest"):
            raise ConfigurationError(f"multiple_faces must be 'skip', 'central' or 'largest', "
                                     f"got {self.multiple_faces!r}")

    def cache_key(self) -> str:
        """A short string naming these settings in cache file names."""
        if not self.align:
            return f"v{_CACHE_VERSION}-raw-{self.size}"
        return (f"v{_CACHE_VERSION}-{self.detector}-u{self.upsample}-{self.size}-p{self.padding:g}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChipSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class SkippedPhoto:
    """A photo left out of a data set: its path (relative to the data set root), the reason and the face count."""

    path: str
    reason: str
    faces: int


@dataclass
class FaceDataset:
    """Aligned chips of the usable photos of a folder-per-person data set.

    Attributes:
        root: the data set folder.
        images: ``(n, size, size, 3)`` RGB ``uint8`` chips.
        labels: ``(n,)`` ``int64`` indices into ``class_names``.
        class_names: the people, sorted.
        paths: each image's photo, relative to ``root`` with ``/`` separators (the keys of a :class:`Split`).
        hashes: each photo's SHA-256 (keys for caches of derived data such as embeddings).
        settings: how the chips were made.
        skipped: the photos left out, with the reason.
    """

    root: Path
    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    class_names: list[str]
    paths: list[str]
    hashes: list[str]
    settings: ChipSettings
    skipped: list[SkippedPhoto] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, paths: Iterable[str]) -> FaceDataset:
        """The images of ``paths`` (in that order), with the same class names.

        Raises:
            ConfigurationError: a path is not in this data set (a stale split file).
        """
        index = {p: i for i, p in enumerate(self.paths)}
        wanted = list(paths)
        missing = [p for p in wanted if p not in index]
        if missing:
            raise ConfigurationError(f"{len(missing)} photo(s) of the split are not in the data set "
                                     f"(first: {missing[0]!r}); delete the split file to make a new one")
        rows = np.asarray([index[p] for p in wanted], dtype=np.int64)
        return dataclasses.replace(self, images=self.images[rows], labels=self.labels[rows],
                                   paths=[self.paths[i] for i in rows], hashes=[self.hashes[i] for i in rows],
                                   skipped=[])

    def counts(self) -> dict[str, int]:
        """Images per person."""
        values = np.bincount(self.labels, minlength=self.num_classes)
        return {name: int(n) for name, n in zip(self.class_names, values)}


def list_people(root: str | os.PathLike[str], *, min_images_per_person: int = 1,
                max_people: int | None = None, max_images_per_person: int | None = None,
                people: Sequence[str] | None = None) -> dict[str, list[Path]]:
    """The photos of each person of a folder-per-person data set, ``{name: [paths, sorted]}`` sorted by name.

    Args:
        root: the data set folder (one sub-folder per person).
        min_images_per_person: leave out people with fewer photos (LFW's "62 people with at least 20 images" is
            ``min_images_per_person=20``).
        max_people: keep only the first this many people (by name) after the other filters.
        max_images_per_person: keep only each person's first this many photos (by file name).
        people: keep only these people.

    Raises:
        ConfigurationError: ``root`` is not a folder, or fewer than two people remain.
    """
    base = Path(root)
    if not base.is_dir():
        raise ConfigurationError(f"data set folder {base} does not exist (expected one sub-folder per person)")
    wanted = set(people) if people is not None else None
    found: dict[str, list[Path]] = {}
    for name, photos in people_folders(base).items():
        if wanted is not None and name not in wanted:
            continue
        if len(photos) < max(min_images_per_person, 1):
            continue
        found[name] = photos[:max_images_per_person] if max_images_per_person else photos
    if wanted is not None and (absent := sorted(wanted - set(found))):
        raise ConfigurationError(f"people not found (or with too few photos) in {base}: {', '.join(absent)}")
    if max_people is not None:
        found = dict(list(found.items())[:max_people])
    if len(found) < 2:
        raise ConfigurationError(f"{base} holds {len(found)} person folder(s) with at least "
                                 f"{min_images_per_person} photo(s); training needs at least two people")
    return found


# ----------------------------------------------------------------------------------------------------------------
# One photo -> chips (run in worker processes; keeps one analyzer per process)
# ----------------------------------------------------------------------------------------------------------------

def _analyzer(detector: str, upsample: int) -> Any:
    """The shared analyzer for these settings (:func:`facerec.analyzer.get_analyzer`: one per process)."""
    from facerec.analyzer import get_analyzer

    return get_analyzer(detector=detector, upsample=upsample, landmarks=5)


def _square_resize(rgb: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    from PIL import Image

    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = Image.fromarray(np.ascontiguousarray(rgb[top:top + side, left:left + side]))
    return np.asarray(crop.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def _detect(rgb: npt.NDArray[np.uint8], settings: ChipSettings) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(boxes (n, 4), landmarks (n, 5, 2))`` of every face, best detection first."""
    analyzer = _analyzer(settings.detector, settings.upsample)
    faces = analyzer.landmarks(rgb, analyzer.detect(rgb), points=5)
    boxes = np.asarray([[f.box.left, f.box.top, f.box.right, f.box.bottom] for f in faces],
                       dtype=np.int64).reshape(-1, 4)
    landmarks = np.asarray([f.landmarks for f in faces], dtype=np.int64).reshape(-1, 5, 2)
    return boxes, landmarks


def _cut(rgb: npt.NDArray[np.uint8], landmarks: npt.NDArray[np.int64],
         settings: ChipSettings) -> npt.NDArray[np.uint8]:
    from facerec.alignment import face_chips

    return face_chips(rgb, list(landmarks), size=settings.size, padding=settings.padding)


def photo_chips(image: Any, settings: ChipSettings) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Every face of one photo as a chip, with its box.

    Args:
        image: anything :func:`facerec.load_image` reads.
        settings: chip size, padding, detector; with ``align=False`` the whole photo is one "face".

    Returns:
        ``(chips, boxes)``: ``(n, size, size, 3)`` ``uint8`` chips and ``(n, 4)`` ``(left, top, right, bottom)``
        boxes, best detection first (one chip and the whole-image box without alignment).
    """
    from facerec.images import load_image

    rgb = load_image(image)
    if not settings.align:
        box = np.asarray([[0, 0, rgb.shape[1], rgb.shape[0]]], dtype=np.int64)
        return _square_resize(rgb, settings.size)[None], box
    boxes, landmarks = _detect(rgb, settings)
    return _cut(rgb, landmarks, settings), boxes


def _cache_file(cache: Path, digest: str, settings: ChipSettings) -> Path:
    return cache / digest[:2] / f"{digest}-{settings.cache_key()}.npz"


def _faces_file(cache: Path, digest: str, settings: ChipSettings) -> Path:
    """Detections and landmarks do not depend on the chip size: cached apart, re-used by every size."""
    return cache / digest[:2] / f"{digest}-v{_CACHE_VERSION}-{settings.detector}-u{settings.upsample}-faces.npz"


def _save_npz(target: Path, **arrays: Any) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(partial, **arrays)
    os.replace(partial, target)


def _read_npz(target: Path | None, *keys: str) -> tuple[Any, ...] | None:
    if target is None or not target.is_file():
        return None
    try:
        with np.load(target) as saved:
            return tuple(saved[k] for k in keys)
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache entry is recomputed


def _load_one(path: str, digest: str, settings: ChipSettings, cache: str | None) -> tuple[Any, Any, str | None]:
    """(chips, boxes, error) for one photo, through the caches."""
    from facerec.images import load_image

    base = Path(cache) if cache else None
    chips_file = _cache_file(base, digest, settings) if base else None
    found = _read_npz(chips_file, "chips", "boxes")
    if found is not None:
        return found[0], found[1], None
    try:
        rgb = load_image(path)
    except ImageError as error:
        return None, None, str(error.reason)
    if not settings.align:
        chips, boxes = photo_chips(rgb, settings)
    else:
        faces_file = _faces_file(base, digest, settings) if base else None
        faces = _read_npz(faces_file, "boxes", "landmarks")
        if faces is None:
            faces = _detect(rgb, settings)
            if faces_file is not None:
                _save_npz(faces_file, boxes=faces[0], landmarks=faces[1])
        boxes = faces[0]
        chips = _cut(rgb, faces[1], settings)
    if chips_file is not None:
        _save_npz(chips_file, chips=chips, boxes=boxes)
    return chips, boxes, None


def _pick(chips: npt.NDArray[np.uint8], boxes: npt.NDArray[np.int64], shape_hint: tuple[int, int] | None,
          how: MultipleFaces) -> int | None:
    """The index of the face to keep (:func:`facerec.analyzer.pick_face`'s rule), or ``None`` to skip the photo."""
    if how == "skip" or (how == "central" and shape_hint is None):
        return None
    faces = [Face(box=Box(*(int(v) for v in row[:4])), score=0.0) for row in boxes]
    chosen = pick_face(faces, shape_hint or (0, 0), how)
    return None if chosen is None else faces.index(chosen)


def _image_shape(path: Path) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.height, img.width
    except OSError:
        return None


def load_face_dataset(root: str | os.PathLike[str], settings: ChipSettings | None = None, *,
                      cache_dir: str | os.PathLike[str] | None = None, use_cache: bool = True, workers: int = 1,
                      min_images_per_person: int = 1, max_people: int | None = None,
                      max_images_per_person: int | None = None, people: Sequence[str] | None = None,
                      progress: ProgressCallback | None = None) -> FaceDataset:
    """Read a folder-per-person data set as aligned face chips (cached).

    Args:
        root: the data set folder, one sub-folder per person.
        settings: chip size, padding, alignment and detector (default :class:`ChipSettings`).
        cache_dir: where chips are cached (default ``<facerec cache>/training-chips``).
        use_cache: read and write the chip cache.
        workers: processes that detect and align in parallel (dlib uses one core each).
        min_images_per_person, max_people, max_images_per_person, people: which people and photos; see
            :func:`list_people`.
        progress: called as ``progress(done, total)`` after each photo.

    Returns:
        The usable photos as a :class:`FaceDataset`; photos without exactly one face (or unreadable) are listed
        in ``skipped``.

    Raises:
        ConfigurationError: the folder is missing, or fewer than two people have a usable photo.
    """
    from facerec.models.locate import cache_dir as facerec_cache_dir
    from facerec.models.locate import file_sha256

    settings = settings or ChipSettings()
    base = Path(root)
    people_photos = list_people(base, min_images_per_person=min_images_per_person, max_people=max_people,
                                max_images_per_person=max_images_per_person, people=people)
    cache = None
    if use_cache:
        cache = Path(cache_dir) if cache_dir is not None else facerec_cache_dir() / "training-chips"
        cache.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Path, str]] = []
    for name, photos in people_photos.items():
        for photo in photos:
            jobs.append((name, photo, file_sha256(photo)))

    args = [(str(photo), digest, settings, str(cache) if cache else None) for _, photo, digest in jobs]
    results: list[tuple[Any, Any, str | None]] = []
    total = len(args)
    if workers > 1 and total > 1:
        import multiprocessing

        # spawn: the parent may already run TensorFlow threads, which fork does not copy safely
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for done, result in enumerate(pool.map(_load_one, *zip(*args), chunksize=8), start=1):
                results.append(result)
                if progress is not None:
                    progress(done, total)
    else:
        for done, job in enumerate(args, start=1):
            results.append(_load_one(*job))
            if progress is not None:
                progress(done, total)

    class_names = list(people_photos)
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[int] = []
    paths: list[str] = []
    hashes: list[str] = []
    skipped: list[SkippedPhoto] = []
    for (name, photo, digest), (chips, boxes, error) in zip(jobs, results):
        relative = photo.relative_to(base).as_posix()
        if error is not None:
            skipped.append(SkippedPhoto(relative, error, 0))
            continue
        count = len(chips)
        index: int | None = 0 if count == 1 else None
        if count > 1 and settings.multiple_faces != "skip":
            index = _pick(chips, boxes, _image_shape(photo), settings.multiple_faces)
        if index is None:
            reason = "no face found" if count == 0 else f"{count} faces found (need exactly one)"
            skipped.append(SkippedPhoto(relative, reason, count))
            continue
        images.append(chips[index])
        labels.append(class_names.index(name))
        paths.append(relative)
        hashes.append(digest)
    present = sorted(set(labels))
    if len(present) < 2:
        raise ConfigurationError(f"fewer than two people in {base} have a usable photo "
                                 f"({len(skipped)} photo(s) skipped)")
    if len(present) < len(class_names):  # drop people none of whose photos had a usable face
        remap = {old: new for new, old in enumerate(present)}
        class_names = [class_names[i] for i in present]
        labels = [remap[label] for label in labels]
    return FaceDataset(root=base, images=np.stack(images).astype(np.uint8),
                       labels=np.asarray(labels, dtype=np.int64), class_names=class_names, paths=paths,
                       hashes=hashes, settings=settings, skipped=skipped)


# ----------------------------------------------------------------------------------------------------------------
# Splits
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Split:
    """A train / validation / test split of a data set's photos (paths relative to its root).

    ``validation`` is carved from the training part (for early stopping); ``test`` is only used for the final
    metrics. ``test_size`` and ``validation_size`` are the fractions used to make it (of all photos, and of the
    training part).
    """

    train: list[str]
    validation: list[str]
    test: list[str]
    seed: int
    test_size: float
    validation_size: float
    classes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        try:
            return cls(train=list(data["train"]), validation=list(data.get("validation", [])),
                       test=list(data["test"]), seed=int(data["seed"]), test_size=float(data["test_size"]),
                       validation_size=float(data.get("validation_size", 0.0)),
                       classes=list(data.get("classes", [])))
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigurationError(f"not a facerec split file (missing or bad field: {error})") from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the split as JSON; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Split:
        """Read a split written by :meth:`save`.

        Raises:
            ConfigurationError: the file is missing or not a split.
        """
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigurationError(f"cannot read split file {source}: {error}") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"{source} is not a facerec split file")
        return cls.from_dict(data)


def held_out_count(count: int, fraction: float) -> int:
    """How many of ``count`` items go to the held-out part: round(count * fraction), leaving at least one of
    each side when there are two or more (one item stays on the kept side)."""
    if count < 2 or fraction <= 0:
        return 0
    return int(min(max(round(count * fraction), 1), count - 1))


def stratified_split(paths: Sequence[str], labels: Sequence[int] | npt.NDArray[np.int64], *,
                     test_size: float = 0.3, validation_size: float = 0.15, seed: int = 0,
                     class_names: Sequence[str] = ()) -> Split:
    """Split per person, seeded: ``test_size`` of each person's photos for testing, then ``validation_size`` of
    the rest for validation.

    Every person with two or more photos has at least one in train and one in test; a person with one photo
    has it in train. The same inputs and seed always give the same split.

    Args:
        paths: the photos (as in :attr:`FaceDataset.paths`).
        labels: their person indices.
        test_size: fraction held out for testing (0.3 is the usual 70/30 split).
        validation_size: fraction of the training part held out for validation (0 for none).
        seed: seed of the shuffle.
        class_names: recorded in the split file for reference.
    """
    if not 0 < test_size < 1:
        raise ConfigurationError(f"test_size must be between 0 and 1, got {test_size}")
    if not 0 <= validation_size < 1:
        raise ConfigurationError(f"validation_size must be in [0, 1), got {validation_size}")
    labels = np.asarray(labels)
    if len(paths) != len(labels):
        raise ConfigurationError(f"{len(paths)} paths but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    train: list[str] = []
    validation: list[str] = []
    test: list[str] = []
    for label in np.unique(labels):
        mine = sorted(p for p, y in zip(paths, labels) if y == label)
        order = rng.permutation(len(mine))
        shuffled = [mine[i] for i in order]
        n_test = held_out_count(len(shuffled), test_size)
        test.extend(shuffled[:n_test])
        rest = shuffled[n_test:]
        n_val = held_out_count(len(rest), validation_size)
        validation.extend(rest[:n_val])
        train.extend(rest[n_val:])
    return Split(train=sorted(train), validation=sorted(validation), test=sorted(test), seed=seed,
                 test_size=test_size, validation_size=validation_size, classes=list(class_names))


def load_or_create_split(path: str | os.PathLike[str] | None, dataset: FaceDataset, *, test_size: float = 0.3,
                         validation_size: float = 0.15, seed: int = 0) -> tuple[Split, bool]:
    """The split stored at ``path`` if that file exists, else a new :func:`stratified_split` (saved there).

    Photos of a re-used split that are no longer usable are dropped from it; usable photos the split does not
    mention are left out (they were not part of the experiment).

    Returns:
        ``(split, reused)``.
    """
    if path is not None and Path(path).is_file():
        saved = Split.load(path)
        usable = set(dataset.paths)
        keep = [[p for p in part if p in usable] for part in (saved.train, saved.validation, saved.test)]
        split = dataclasses.replace(saved, train=keep[0], validation=keep[1], test=keep[2])
        if not split.train or not split.test:
            raise ConfigurationError(f"split file {path} does not match the data set at {dataset.root} "
                                     "(no usable training or test photo); delete it to make a new one")
        return split, True
    split = stratified_split(dataset.paths, dataset.labels, test_size=test_size, validation_size=validation_size,
                             seed=seed, class_names=dataset.class_names)
    if path is not None:
        split.save(path)
    return split, False


def dataset_embeddings(dataset: FaceDataset, *, embedder: str | None = None,
                       cache_dir: str | os.PathLike[str] | None = None,
                       use_cache: bool = True) -> npt.NDArray[np.float32]:
    """The 128-d embeddings of a data set's chips (cached per photo hash, chip settings and embedder).

    The chips must be cut as the face ResNet expects them (aligned, 150 px, padding 0.25).

    Args:
        dataset: a data set loaded with ``ChipSettings(size=150, padding=0.25)``.
        embedder: facerec embedder name (default: the analyzer's default).
        cache_dir: where embeddings are cached (default ``<facerec cache>/training-embeddings``).
        use_cache: read and write that cache.

    Returns:
        ``(n, 128)`` ``float32``.

    Raises:
        ConfigurationError: the chips are not 150 px aligned chips with padding 0.25.
    """
    from facerec.alignment import CHIP_PADDING, CHIP_SIZE
    from facerec.analyzer import DEFAULT_EMBEDDER
    from facerec.models.locate import cache_dir as facerec_cache_dir

    settings = dataset.settings
    if not settings.align or settings.size != CHIP_SIZE or abs(settings.padding - CHIP_PADDING) > 1e-9:
        raise ConfigurationError(f"embeddings need aligned {CHIP_SIZE} px chips with padding {CHIP_PADDING}; "
                                 f"this data set has size {settings.size}, padding {settings.padding}, "
                                 f"align {settings.align}")
    name = embedder or DEFAULT_EMBEDDER
    cache = None
    if use_cache:
        cache = Path(cache_dir) if cache_dir is not None else facerec_cache_dir() / "training-embeddings"
    vectors = np.zeros((len(dataset), 128), dtype=np.float32)
    todo: list[int] = []
    for i, digest in enumerate(dataset.hashes):
        target = cache / digest[:2] / f"{digest}-{settings.cache_key()}-{name}.npy" if cache else None
        if target is not None and target.is_file():
            vectors[i] = np.load(target)
        else:
            todo.append(i)
    if todo:
        from facerec.analyzer import FaceAnalyzer

        analyzer = FaceAnalyzer(embedder=name)
        computed = analyzer.embed_chips(dataset.images[todo])
        for i, vector in zip(todo, computed):
            vectors[i] = vector
            if cache is not None:
                target = cache / dataset.hashes[i][:2] / f"{dataset.hashes[i]}-{settings.cache_key()}-{name}.npy"
                target.parent.mkdir(parents=True, exist_ok=True)
                np.save(target, np.asarray(vector, dtype=np.float32))
    return vectors
