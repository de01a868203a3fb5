"""Video data sets read from their annotation files as distributed, and the clip dataset.

Formats (details in ``docs/data.md``):

* ``ssv2``: ``something-something-v2-{train,validation,test}.json`` (entries with ``id``
  and ``template`` or ``label``), ``something-something-v2-labels.json`` (``{name:
  "index"}``), videos ``<id>.webm`` (or any video extension) in ``root``.
* ``kinetics``: CSV files ``label,youtube_id,time_start,time_end,split`` and videos
  ``<youtube_id>_<start:06d>_<end:06d>.<ext>`` anywhere under ``root`` (``<split>/<label>/``
  folders or flat). Classes: the ``labels`` file, else the sorted labels of the train CSV.
* ``list``: lines ``path label`` (whitespace; the label is a class index or name, or
  missing, in which case the video's folder name is the class) or a CSV with the same
  two columns; ``path`` relative to ``root``. UCF101's ``trainlist0N.txt`` /
  ``testlist0N.txt`` with ``classInd.txt`` as the labels file read as they are.
* ``folders``: one folder per class, ``root/<split>/<class>/<video>`` (the split's folder
  is ``annotations[split]`` under ``root``). Classes: the labels file, else the sorted
  class folders of the training split.

Videos listed but absent from disk are dropped from the data set and reported once.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ..errors import DataError
from ..synthetic import MANIFEST, SYNTHETIC_CLASSES, SyntheticClipRenderer, read_manifest
from .config import DataConfig
from .decode import DecodeError, open_video
from .sampling import FrameSampler
from .transforms import EvalTransform, TrainTransform

__all__ = [
    "Annotations",
    "VideoDataset",
    "VideoRecord",
    "build_dataset",
    "flip_label_map",
    "read_annotations",
    "read_class_names",
    "ssv2_class_name",
    "video_files",
]

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".webm", ".mp4", ".mkv", ".avi", ".mov", ".m4v")
MAX_SKIPS = 20  # consecutive unreadable videos before a training item gives up


@dataclass(frozen=True)
class VideoRecord:
    """One annotated video: its path and class index (-1 when the split is unlabelled)."""

    path: str
    label: int


@dataclass
class Annotations:
    """A split as annotated: videos present on disk, videos missing, and the class names."""

    records: list[VideoRecord]
    missing: list[VideoRecord]
    class_names: list[str]
    source: str = ""
    root: str = ""


# ---- class names ----------------------------------------------------------------------


def read_class_names(path: str | Path) -> tuple[list[str], dict[int, int]]:
    """Class names from a file, and the map from the file's own class numbers to positions.

    Accepts a JSON ``{name: index}`` (SSv2; the indices must be 0..K-1, each once) or list,
    or text with one name per line (numbered from 0) or ``index name`` per line (UCF101's
    classInd.txt, numbered as written). A name or number given twice, or an SSv2 index
    missing or out of range, is an error naming the file and the entries: such a file would
    otherwise renumber the classes without a word.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class-names file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = _load_json(path, text, object_pairs_hook=_pairs_without_repeats(path))
        if isinstance(data, dict):
            numbered = sorted((_integer_index(path, name, index), name) for name, index in data.items())
        elif isinstance(data, list):
            numbered = list(enumerate(data))
        else:
            raise DataError(f"{path}: expected a JSON object {{name: index}} or a list of names")
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines and all(re.fullmatch(r"\d+\s+\S.*", line) for line in lines):
            numbered = sorted((int(number), name.strip()) for number, name in (line.split(None, 1) for line in lines))
        else:
            numbered = list(enumerate(lines))
    if not numbered:
        raise DataError(f"class-names file {path} is empty")
    names = [name for _, name in numbered]
    if len(set(names)) != len(names):
        duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
        raise DataError(f"{path}: duplicate class names {duplicates[:5]}")
    numbers = Counter(number for number, _ in numbered)
    shared = sorted(number for number, count in numbers.items() if count > 1)
    if shared:
        entries = [f"{name!r}: {number}" for number, name in numbered if number in shared[:3]]
        raise DataError(f"{path}: class numbers given to more than one name: {', '.join(entries)}")
    if path.suffix == ".json" and [number for number, _ in numbered] != list(range(len(numbered))):
        outside = [f"{name!r}: {number}" for number, name in numbered if not 0 <= number < len(numbered)]
        raise DataError(
            f"{path}: class indices must be 0..{len(numbered) - 1}, each once; out of range: {', '.join(outside[:3])}"
        )
    return names, {number: position for position, (number, _) in enumerate(numbered)}


def _pairs_without_repeats(path: Path):
    """A JSON ``object_pairs_hook`` that refuses a key given twice in one object (JSON
    itself keeps the last one silently)."""

    def hook(pairs: list[tuple[str, object]]) -> dict:
        repeated = sorted(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        if repeated:
            raise DataError(
                f"{path}: the key {repeated[0]!r} is given more than once"
                + (f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else "")
            )
        return dict(pairs)

    return hook


def _integer_index(path: Path, name: str, index) -> int:
    try:
        return int(index)
    except (TypeError, ValueError):
        raise DataError(f"{path}: class {name!r} has index {index!r}, not an integer") from None


def ssv2_class_name(template: str) -> str:
    """SSv2's class of an annotation template: the template without its brackets."""
    return template.replace("[", "").replace("]", "")


_MIRROR_WORDS = {"left": "right", "right": "left", "clockwise": "counterclockwise", "counterclockwise": "clockwise"}


def _mirror_word(match: re.Match) -> str:
    word = match.group(0)
    mirrored = _MIRROR_WORDS[word.lower()]
    return mirrored.capitalize() if word[0].isupper() else mirrored


def flip_label_map(class_names: Sequence[str]) -> dict[int, int]:
    """Pairs of classes that a horizontal flip exchanges: a name whose words ``left`` and
    ``right`` (or ``clockwise`` and ``counterclockwise``) swapped give another class name.
    In SSv2: pulling / pushing something from left to right and back, and turning the
    camera left / right while filming something."""
    position = {name: i for i, name in enumerate(class_names)}
    pattern = re.compile(r"\b(" + "|".join(_MIRROR_WORDS) + r")\b", re.IGNORECASE)
    pairs = {}
    for i, name in enumerate(class_names):
        j = position.get(pattern.sub(_mirror_word, name))
        if j is not None and j != i:
            pairs[i] = j
    return pairs


# ---- annotation readers ---------------------------------------------------------------


def _load_json(path: Path, text: str | None = None, object_pairs_hook=None):
    text = path.read_text(encoding="utf-8") if text is None else text
    if not text.strip():
        raise DataError(f"annotation file {path} is empty")
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err})") from err


def video_files(folder: Path, recursive: bool) -> list[Path]:
    """The video files (by extension) in ``folder``, and in its sub-folders when
    ``recursive``, sorted; hidden files and folders (``.name``) are left out."""
    paths = []
    for parent, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if recursive and not name.startswith(".")]
        paths += [Path(parent) / name for name in names if not name.startswith(".")]
    return sorted(path for path in paths if path.suffix.lower() in VIDEO_EXTENSIONS)


def _index_videos(root: Path, recursive: bool) -> dict[str, str]:
    """Video files under ``root`` by file name without extension (first in sorted order)."""
    if not root.is_dir():
        raise FileNotFoundError(f"video folder {root} does not exist")
    index: dict[str, str] = {}
    for path in video_files(root, recursive):
        index.setdefault(path.stem, str(path))
    return index


def _resolve(records: list[tuple[str, str, int]], index: dict[str, str]) -> tuple[list[VideoRecord], list[VideoRecord]]:
    """Split ``(stem, default path, label)`` into records found on disk and missing ones."""
    found, missing = [], []
    for stem, default, label in records:
        path = index.get(stem)
        (found if path else missing).append(VideoRecord(path or default, label))
    return found, missing


def _read_ssv2(cfg: DataConfig, split: str) -> Annotations:
    if cfg.labels is None:
        raise DataError("data.labels must name something-something-v2-labels.json for format ssv2")
    class_names, _ = read_class_names(cfg.labels)
    position = {name: i for i, name in enumerate(class_names)}
    source = cfg.annotation(split)
    entries = _load_json(source)
    if not isinstance(entries, list):
        raise DataError(f"{source}: expected a JSON list of videos")
    root = Path(cfg.root)
    items = []
    for entry in entries:
        name = ssv2_class_name(entry["template"]) if "template" in entry else entry.get("label")
        if name is None:
            label = -1  # the test split is unlabelled
        elif name in position:
            label = position[name]
        else:
            raise DataError(f"{source}: video {entry['id']} has class {name!r}, which is not in {cfg.labels}")
        items.append((str(entry["id"]), str(root / f"{entry['id']}.webm"), label))
    return Annotations(*_resolve(items, _index_videos(root, recursive=False)), class_names, str(source), str(root))


def _read_csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _read_kinetics(cfg: DataConfig, split: str) -> Annotations:
    source = cfg.annotation(split)
    rows = _read_csv_rows(source)
    required = {"youtube_id", "time_start", "time_end"}
    if rows and not required <= set(rows[0]):
        raise DataError(f"{source}: expected columns label,youtube_id,time_start,time_end,split; got {list(rows[0])}")
    if cfg.labels is not None:
        class_names, _ = read_class_names(cfg.labels)
    else:  # the classes are the sorted labels of the training CSV
        train_rows = rows if split == cfg.train_split else _read_csv_rows(cfg.annotation(cfg.train_split))
        class_names = sorted({row["label"] for row in train_rows if row.get("label")})
    position = {name: i for i, name in enumerate(class_names)}
    root = Path(cfg.root)
    items = []
    for row in rows:
        name = row.get("label") or None
        if name is not None and name not in position:
            raise DataError(f"{source}: class {name!r} of video {row['youtube_id']} is not a known class")
        stem = f"{row['youtube_id']}_{int(float(row['time_start'])):06d}_{int(float(row['time_end'])):06d}"
        default = root / (row.get("split") or split) / (name or "") / f"{stem}.mp4"
        items.append((stem, str(default), position[name] if name is not None else -1))
    return Annotations(*_resolve(items, _index_videos(root, recursive=True)), class_names, str(source), str(root))


def _read_list(cfg: DataConfig, split: str) -> Annotations:
    source = cfg.annotation(split)
    rows = _list_rows(source)
    if cfg.labels is not None:
        class_names, numbering = read_class_names(cfg.labels)
    else:  # the classes are the sorted label names of the training list
        train_rows = rows if split == cfg.train_split else _list_rows(cfg.annotation(cfg.train_split))
        names = {label for _, _, label in train_rows}
        if any(name.isdigit() for name in names):
            raise DataError(f"{source}: class indices need a class-names file (data.labels)")
        class_names = sorted(names)
        numbering = {}
    position = {name: i for i, name in enumerate(class_names)}
    root = Path(cfg.root)
    found, missing = [], []
    for line, path, label in rows:
        if label.lstrip("-").isdigit() and label not in position:
            number = int(label)
            if number not in numbering:
                raise DataError(f"{source}:{line}: class number {number} is not in {cfg.labels}")
            index = numbering[number]
        elif label in position:
            index = position[label]
        else:
            raise DataError(f"{source}:{line}: unknown class {label!r}")
        record = VideoRecord(str(root / path), index)
        (found if os.path.isfile(record.path) else missing).append(record)
    return Annotations(found, missing, class_names, str(source), str(root))


def _list_rows(source: Path) -> list[tuple[int, str, str]]:
    """``(line number, path, label)`` per non-empty line of a list file or CSV; a line
    without a label takes its video's folder name as the label (UCF101's test lists)."""
    if not source.is_file():
        raise FileNotFoundError(f"annotation file {source} does not exist")
    lines = source.read_text(encoding="utf-8").splitlines()
    is_csv = source.suffix.lower() == ".csv"
    if is_csv:
        cells = [[cell.strip() for cell in row] for row in csv.reader(lines)]
    else:
        cells = [line.split(None, 1) for line in lines]
    rows = []
    for number, row in enumerate(cells, start=1):
        if not row or not row[0] or (is_csv and not rows and [cell.lower() for cell in row[:2]] == ["path", "label"]):
            continue  # an empty line, or the CSV's header
        path, label = row[0], row[1].strip() if len(row) > 1 else ""
        label = label or Path(path).parent.name
        if not label:
            raise DataError(f"{source}:{number}: {path} has no label and no folder to take its class from")
        rows.append((number, path, label))
    return rows


def _read_synthetic(cfg: DataConfig, split: str) -> Annotations:
    """Evaluation splits: the files, as ssv2. The training split: one record per clip of an
    epoch (the manifest's ``train_per_class`` per class), each rendered afresh when loaded."""
    if split != cfg.train_split:
        return _read_ssv2(cfg, split)
    if cfg.labels is None:
        raise DataError("data.labels must name something-something-v2-labels.json for format synthetic")
    config, _ = read_manifest(Path(cfg.root).parent)
    class_names, _ = read_class_names(cfg.labels)
    unknown = [name for name in class_names if name not in SYNTHETIC_CLASSES]
    if unknown:
        raise DataError(f"{cfg.labels}: classes {unknown[:3]} are not synthetic classes, so they cannot be rendered")
    records = [
        VideoRecord(f"rendered clip {i}", i % len(class_names))
        for i in range(config.train_per_class * len(class_names))
    ]
    return Annotations(records, [], class_names, f"{Path(cfg.root).parent / MANIFEST} (rendered)", str(cfg.root))


def _read_folders(cfg: DataConfig, split: str) -> Annotations:
    """``root/<split folder>/<class>/<video>``: every video (any depth) of each class folder.
    Classes: the labels file, else the sorted class folders of the training split."""
    folder = _split_folder(cfg, split)
    present = _class_folders(folder)
    if cfg.labels is not None:
        class_names, _ = read_class_names(cfg.labels)
    else:
        class_names = present if split == cfg.train_split else _class_folders(_split_folder(cfg, cfg.train_split))
    position = {name: i for i, name in enumerate(class_names)}
    unknown = [name for name in present if name not in position]
    if unknown:
        known = cfg.labels or f"the training split's folder {_split_folder(cfg, cfg.train_split)}"
        raise DataError(f"{folder}: class folders {unknown[:3]} are not classes of {known}")
    loose = video_files(folder, recursive=False)
    if loose:
        raise DataError(f"{folder}: videos must be in class folders, e.g. {loose[0]} (one folder per class)")
    records = [VideoRecord(str(path), position[name]) for name in present for path in video_files(folder / name, True)]
    if not records:
        raise DataError(f"{folder}: its class folders hold no videos ({', '.join(VIDEO_EXTENSIONS)})")
    return Annotations(records, [], class_names, str(folder), str(folder))


def _split_folder(cfg: DataConfig, split: str) -> Path:
    """The folder of class folders of ``split``: ``data.annotations[split]`` under ``root``,
    by default ``root/<split>``."""
    root = Path(cfg.root)
    if not root.is_dir() or not any(not entry.name.startswith(".") for entry in root.iterdir()):
        raise DataError(f"data.root {root} is {'empty' if root.is_dir() else 'not a folder'}")
    folder = root / cfg.annotations.get(split, split)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder for split {split!r} (set data.annotations.{split})")
    return folder


def _class_folders(folder: Path) -> list[str]:
    """The sub-folders of ``folder``, by name, hidden ones left out; none is an error."""
    names = sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    if not names:
        raise DataError(f"{folder} has no class folders (expected {folder}/<class>/<video>)")
    return names


_READERS = {
    "ssv2": _read_ssv2,
    "kinetics": _read_kinetics,
    "list": _read_list,
    "synthetic": _read_synthetic,
    "folders": _read_folders,
}


def read_annotations(cfg: DataConfig, split: str) -> Annotations:
    """The videos of ``split`` as annotated, split into present and missing, with the
    class names. An empty annotation file raises ``ValueError``."""
    annotations = _READERS[cfg.format](cfg, split)
    if not annotations.records and not annotations.missing:
        raise DataError(f"annotation file {cfg.annotation(split)} lists no videos")
    return annotations


def _report_missing(annotations: Annotations, split: str, report: str | None) -> None:
    missing = annotations.missing
    if not missing:
        return
    total = len(missing) + len(annotations.records)
    message = (
        f"{len(missing)} of {total} videos of split {split!r} ({annotations.source}) are not in {annotations.root}"
    )
    if report:
        path = Path(report.format(split=split))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{record.path}\n" for record in missing))
        logger.warning("%s; they are listed in %s", message, path)
    else:
        examples = ", ".join(record.path for record in missing[:3])
        logger.warning("%s, e.g. %s (set data.missing_report to list them all)", message, examples)


# ---- the clip dataset -----------------------------------------------------------------


class VideoDataset(Dataset):
    """Clips of videos, as dicts ``{"video": float (3, T, H, W), "label": int64, "index":
    int64, "view": int64, "failures": int64}``.

    Training (``train=True``): one item per video, a random clip (sampling and
    augmentation drawn from a ``random.Random``); ``view`` is -1. The key may be an index
    or ``(index, seed)``: with a seed the item is a function of it alone, which is how
    :func:`~dist_video.data.loader.build_loader` makes epochs reproducible whichever worker
    loads them; with a bare index the seed is drawn from torch's global generator.

    Evaluation: one item per (video, temporal view, spatial crop), ``len = videos x V x
    S``; item ``i`` is video ``i // (V S)``, view ``i % (V S)`` = temporal view ``x S +``
    crop. Sum the scores of the items of a video by ``index``.

    Unreadable videos (:class:`DecodeError`): with ``on_decode_error="raise"`` the error
    propagates. With ``"skip"`` the path and reason are logged (once per path and
    process) and counted in ``decode_failures`` (this process only); a training item then
    loads another video drawn from the item's generator (never the same index; ``index``
    and ``label`` are the video actually used) and reports in ``failures`` how many
    videos it skipped, so summing ``batch["failures"]`` over an epoch counts the failures
    across workers. An evaluation item that fails is returned with a zero video and
    ``failures = 1``, and must be left out of the metrics.
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        class_names: Sequence[str],
        sampler: FrameSampler,
        transform: TrainTransform | EvalTransform,
        train: bool,
        num_views: int = 1,
        num_crops: int = 1,
        decoder: str = "auto",
        on_decode_error: str | None = None,
        flip_labels: dict[int, int] | None = None,
        missing: Sequence[VideoRecord] = (),
        renderer: SyntheticClipRenderer | None = None,
    ):
        if not records:
            raise DataError("a video dataset needs at least one readable video")
        self.records = list(records)
        self.class_names = list(class_names)
        self.sampler, self.transform, self.train = sampler, transform, train
        self.num_views, self.num_crops = (1, 1) if train else (num_views, num_crops)
        self.decoder = decoder
        self.on_decode_error = on_decode_error or ("skip" if train else "raise")
        self.flip_labels = dict(flip_labels or {})
        self.missing = list(missing)
        self.renderer = renderer
        self.decode_failures = 0
        self.backends: Counter[str] = Counter()
        self._logged: set[str] = set()

    @property
    def num_videos(self) -> int:
        return len(self.records)

    @property
    def video_paths(self) -> list[str]:
        """The path of each video, by index."""
        return [record.path for record in self.records]

    @property
    def views_per_video(self) -> int:
        return self.num_views * self.num_crops

    def __len__(self) -> int:
        return len(self.records) * self.views_per_video

    def decode_clip(self, index: int, view: int | None = None, rng: random.Random | None = None) -> torch.Tensor:
        """The sampled frames of video ``index`` as uint8 ``(T, H, W, 3)``: temporal view
        ``view`` of ``num_views``, or a random clip drawn from ``rng`` when ``view`` is None.
        With a ``renderer``, the clip is rendered instead (a new scene drawn from ``rng``, or
        for a view, from the index)."""
        if self.renderer is not None:
            record = self.records[index]
            return torch.from_numpy(
                self.renderer(
                    self.class_names[record.label], self.sampler, rng or random.Random(index), view, self.num_views
                )
            )
        with open_video(self.records[index].path, self.decoder) as video:
            indices = self.sampler(video.info.num_frames, video.info.fps, view, self.num_views, rng)
            frames = video.read(indices)
            self.backends[video.backend] += 1
        return frames

    def _failed(self, record: VideoRecord, error: DecodeError) -> None:
        self.decode_failures += 1
        if record.path not in self._logged:
            self._logged.add(record.path)
            logger.warning("skipping unreadable video %s: %s", record.path, error.reason)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} items")
        return self._train_item(index, seed) if self.train else self._eval_item(index)

    def _train_item(self, index: int, seed: int | None) -> dict[str, torch.Tensor]:
        if seed is None:
            seed = int(torch.randint(2**62, ()).item())
        rng = random.Random(seed)
        failures = 0
        while True:
            try:
                frames = self.decode_clip(index, rng=rng)
                break
            except DecodeError as error:
                if self.on_decode_error == "raise" or len(self.records) == 1:
                    raise
                self._failed(self.records[index], error)
                failures += 1
                if failures >= MAX_SKIPS:
                    raise DataError(f"{failures} videos in a row could not be decoded; last: {error}") from error
                index = (index + rng.randrange(1, len(self.records))) % len(self.records)
        video, flipped = self.transform(frames, rng)
        label = self.records[index].label
        if flipped:
            label = self.flip_labels.get(label, label)
        return _item(video, label, index, -1, failures)

    def _eval_item(self, item: int) -> dict[str, torch.Tensor]:
        index, view = divmod(item, self.views_per_video)
        temporal_view, crop = divmod(view, self.num_crops)
        record = self.records[index]
        try:
            frames = self.decode_clip(index, view=temporal_view)
        except DecodeError as error:
            if self.on_decode_error == "raise":
                raise
            self._failed(record, error)
            size = self.transform.crop_size
            return _item(torch.zeros(3, self.sampler.num_frames, size, size), record.label, index, view, 1)
        return _item(self.transform(frames, crop), record.label, index, view, 0)


def _item(video: torch.Tensor, label: int, index: int, view: int, failures: int) -> dict[str, torch.Tensor]:
    numbers = {"label": label, "index": index, "view": view, "failures": failures}
    return {"video": video, **{key: torch.tensor(value, dtype=torch.int64) for key, value in numbers.items()}}


def build_dataset(cfg: DataConfig, split: str, train: bool) -> VideoDataset:
    """The clip dataset of ``split`` (a key of ``cfg.annotations``), with training
    augmentation when ``train`` and the test views otherwise. Class names:
    ``dataset.class_names``."""
    annotations = read_annotations(cfg, split)
    _report_missing(annotations, split, cfg.missing_report)
    if not annotations.records:
        raise DataError(
            f"split {split!r}: none of the {len(annotations.missing)} videos of "
            f"{annotations.source} is in {annotations.root}"
        )
    if train and any(record.label < 0 for record in annotations.records):
        raise DataError(f"split {split!r} ({annotations.source}) has unlabelled videos and cannot be trained on")
    sampler = FrameSampler(cfg.sampling, cfg.num_frames, cfg.sampling_interval, cfg.target_fps)
    if train:
        transform = TrainTransform(
            crop_size=cfg.train_crop_size,
            scale=cfg.crop_scale,
            ratio=cfg.crop_ratio,
            flip_prob=0.5 if cfg.flip else 0.0,
            brightness=cfg.brightness,
            contrast=cfg.contrast,
            saturation=cfg.saturation,
            hue=cfg.hue,
            grayscale_prob=cfg.grayscale_prob,
            jitter_prob=cfg.color_jitter_prob,
            mean=cfg.mean,
            std=cfg.std,
        )
        flip_labels = flip_label_map(annotations.class_names) if cfg.ssv2_flip_swap_labels else {}
    else:
        transform = EvalTransform(cfg.test_scale, cfg.test_crop_size, cfg.num_spatial_crops, cfg.mean, cfg.std)
        flip_labels = {}
    return VideoDataset(
        annotations.records,
        annotations.class_names,
        sampler,
        transform,
        train,
        num_views=cfg.num_temporal_views,
        num_crops=cfg.num_spatial_crops,
        decoder=cfg.decoder,
        on_decode_error=cfg.on_decode_error_train if train else cfg.on_decode_error_eval,
        flip_labels=flip_labels,
        missing=annotations.missing,
        renderer=_renderer(cfg, split),
    )


def _renderer(cfg: DataConfig, split: str) -> SyntheticClipRenderer | None:
    """The clip renderer of a synthetic data set's training split; None for files."""
    if cfg.format != "synthetic" or split != cfg.train_split:
        return None
    return SyntheticClipRenderer(read_manifest(Path(cfg.root).parent)[0])
