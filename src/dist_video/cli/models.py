"""``dist-video info`` and ``dist-video models``: the model zoo and a model's size."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .arguments import add_overrides


def add_parsers(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser(
        "info",
        help="parameters and GFLOPs of a model",
        description="Print the frames, classes, parameters (total, trainable) and GFLOPs per view "
        "(multiply-adds, as papers count them) of a zoo model, a model/experiment YAML or a "
        "saved model directory. Counted on the meta device: nothing is allocated or downloaded.",
    )
    info.add_argument("model", help="zoo name (see `dist-video models`), YAML file or model directory")
    info.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    add_overrides(info, "branch.num_frames=32")
    info.set_defaults(func=run_info)
    models = sub.add_parser(
        "models",
        help="list the model zoo and the training recipes",
        description="List the model zoo's entries with their published top-1, then the packaged experiment "
        "recipes that `dist-video train` accepts by name.",
    )
    models.set_defaults(func=run_models)


def run_info(args: argparse.Namespace) -> int:
    import torch

    from ..config import load_yaml
    from ..models.complexity import count_gflops, count_parameters
    from ..models.zoo import create_model, model_config

    source = Path(args.model)
    if source.is_dir():  # a saved model: its config.yaml holds every size
        saved = load_yaml(source / "config.yaml")
        data = {
            "clip": {"arch": saved["clip_arch"]},
            "branch": saved["branch"],
            "selected_layers": saved["selected_layers"],
            "num_classes": len(saved["class_names"]),
        }
    else:
        data = args.model
    config = model_config(data, args.overrides)
    with torch.device("meta"):
        model = create_model(config, clip="random")  # counting needs no weights
    result = {"model": args.model, **count_parameters(model), **count_gflops(model)}
    result["params_trainable_m"] = round(result["params_trainable"] / 1e6, 2)
    result["params_total_m"] = round(result["params_total"] / 1e6, 2)
    result |= {"num_frames": model.num_frames, "sparse_frames": model.branch_config.sparse_frames}
    result["num_classes"] = len(model.class_names)
    if config.published:
        result["published"] = config.published
    print(json.dumps(result) if args.json else _info_table(result, config.description))
    return 0


# How the zoo's published numbers read in info's table.
_PUBLISHED = {"top1": "top-1 {} %", "top5": "top-5 {} %", "gflops_per_view": "{} GFLOPs per view"}


def _info_table(info: dict, description: str) -> str:
    """``dist-video info``'s result as people read it (two decimals)."""
    lines = [f"{info['model']}: {description}" if description else info["model"]]
    rows = [
        ("frames", f"{info['num_frames']} dense, {info['sparse_frames']} sparse (through CLIP)"),
        ("classes", str(info["num_classes"])),
        ("parameters, total", f"{info['params_total'] / 1e6:.2f} M"),
        ("parameters, trainable", f"{info['params_trainable'] / 1e6:.2f} M"),
        ("GFLOPs per view", f"{info['gflops_per_view']:.2f}"),
        ("  frozen ViT", f"{info['gflops_frozen']:.2f}"),
        ("  DiST branch", f"{info['gflops_branch']:.2f}"),
    ]
    published = info.get("published", {})
    if published:
        rows.append(
            ("published", ", ".join(_PUBLISHED.get(key, key + " {}").format(v) for key, v in published.items()))
        )
    lines += [f"  {name:22s} {value}" for name, value in rows]
    return "\n".join(lines)


def run_models(args: argparse.Namespace) -> int:
    from ..engine.experiment import list_recipes
    from ..models.zoo import list_models, model_config

    print("models (dist_video.create_model(NAME), dist-video info NAME):")
    for name in list_models():
        config = model_config(name)
        top1 = config.published.get("top1")
        published = f"top-1 {top1:5.1f}" if top1 is not None else " " * 11
        print(f"  {name:24s} {published}  {config.description}")
    print("training recipes (dist-video train RECIPE):")
    for name in list_recipes():
        print(f"  {name}")
    return 0
