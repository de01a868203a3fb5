"""The model card (the ``README.md`` of a model's Hugging Face Hub repository): metadata for
the Hub, what the model is, how its clips are made, how it was trained, its results and the
citation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from .clip import clip_arch
from .complexity import count_parameters
from .dist import DiST

__all__ = ["CITATION", "model_card"]

CITATION = """@inproceedings{qing2023disentangling,
  title     = {Disentangling Spatial and Temporal Learning for Efficient Image-to-Video Transfer Learning},
  author    = {Qing, Zhiwu and Zhang, Shiwei and Huang, Ziyuan and Zhang, Yingya and Gao, Changxin and
               Zhao, Deli and Sang, Nong},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
  pages     = {13934--13944},
  year      = {2023}
}"""
SHOWN_CLASSES = 10  # class names listed in the card before "..."


def model_card(
    model: DiST,
    repo_id: str,
    recipe: str | Mapping[str, Any] | None = None,
    dataset: str | None = None,
    metrics: Mapping[str, float] | None = None,
    license: str = "apache-2.0",
) -> str:
    """The text of ``model``'s card for the Hub repository ``repo_id``: Hub metadata (library,
    task, licence, data set, metric names), the model's towers, sizes and classes, its
    preprocessing, the training ``recipe`` (a recipe name or the experiment config) on
    ``dataset``, the ``metrics`` (name -> value, on ``dataset``), how to load it and the
    citation."""
    from huggingface_hub import ModelCard, ModelCardData

    metadata = ModelCardData(
        library_name="dist-video",
        license=license,
        pipeline_tag="video-classification",
        tags=["video-classification", "dist", "clip"],
        datasets=[dataset] if dataset else None,
        metrics=list(metrics) if metrics else None,
    )
    sections = [
        _summary(model, repo_id),
        _model_table(model),
        _preprocessing_table(model),
        _training(recipe, dataset),
        _results(metrics, dataset),
        f"## Citation\n\n```bibtex\n{CITATION}\n```\n",
    ]
    return str(ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n" + "\n".join(sections)))


def _summary(model: DiST, repo_id: str) -> str:
    return f"""# {repo_id}

A DiST video classifier (Qing et al., ICCV 2023): frozen CLIP towers see one in {model.branch_config.alpha} of
its {model.num_frames} frames, a small trainable branch models time, and the classes are scored against
the CLIP text embeddings of their names. Made with `dist-video`.

```python
import dist_video

model = dist_video.load_model("hf-hub:{repo_id}")
print(model.preprocessing)  # how its clips are made
logits = model(video)  # (B, 3, T, H, W) clips made so -> (B, classes)
```

From the command line: `dist-video predict VIDEO --checkpoint hf-hub:{repo_id}`.
"""


def _table(rows: Mapping[str, Any], header: tuple[str, str] = ("", "")) -> str:
    head = f"| {header[0]} | {header[1]} |\n|---|---|\n"
    return head + "".join(f"| {key} | {value} |\n" for key, value in rows.items())


def _model_table(model: DiST) -> str:
    arch, branch, params = clip_arch(model), model.branch_config, count_parameters(model)
    towers = (
        f"ViT width {arch.vision_width}, {arch.vision_layers} blocks, patch {arch.patch_size}, "
        f"{arch.image_size} px; {arch.activation}"
    )
    names = ", ".join(model.class_names[:SHOWN_CLASSES]) + (", ..." if len(model.class_names) > SHOWN_CLASSES else "")
    rows = {
        "CLIP towers (frozen)": f"{arch.open_clip_model} ({towers})" if arch.open_clip_model else towers,
        "frames": f"{model.num_frames}, one in {branch.alpha} through CLIP",
        "branch": f"temporal width {branch.temporal_dim}, integration width {branch.integration_dim}, "
        f"at ViT blocks {model.selected_layers}",
        "parameters": f"{params['params_trainable'] / 1e6:.2f} M trained of {params['params_total'] / 1e6:.2f} M",
        "classes": f"{len(model.class_names)}: {names}",
    }
    return "## Model\n\n" + _table(rows)


def _preprocessing_table(model: DiST) -> str:
    pre = model.preprocessing
    sampling = (
        f"every {pre.sampling_interval}-th frame" + (f" at {pre.target_fps} fps" if pre.target_fps else "")
        if pre.sampling == "interval"
        else "one per equal segment"
    )
    rows = {
        "frames": f"{pre.num_frames}, {sampling}",
        "resize (short side), centre crop": f"{pre.resize or pre.crop_size}, {pre.crop_size}",
        "mean, std (RGB in [0, 1])": f"{list(pre.mean)}, {list(pre.std)}",
    }
    return "## Preprocessing\n\n" + _table(rows)


def _training(recipe: str | Mapping[str, Any] | None, dataset: str | None) -> str:
    lines = ["## Training\n"]
    if dataset:
        lines.append(f"Data set: {dataset}.\n")
    if isinstance(recipe, Mapping):
        lines.append(f"Recipe:\n\n```yaml\n{yaml.safe_dump(dict(recipe), sort_keys=False).strip()}\n```\n")
    elif recipe:
        lines.append(f"Recipe: `{recipe}` (`dist-video train {recipe}`).\n")
    if len(lines) == 1:
        lines.append("Not recorded.\n")
    return "\n".join(lines)


def _results(metrics: Mapping[str, float] | None, dataset: str | None) -> str:
    if not metrics:
        return "## Results\n\nNot recorded.\n"
    where = f" on {dataset}" if dataset else ""
    return f"## Results{where}\n\n" + _table(metrics, ("metric", "value"))
