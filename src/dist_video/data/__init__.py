"""Video data pipeline: decoding, frame sampling, augmentation, datasets and loaders."""

from .config import DataConfig, load_data_config
from .datasets import (
    Annotations,
    VideoDataset,
    VideoRecord,
    build_dataset,
    flip_label_map,
    read_annotations,
    read_class_names,
    ssv2_class_name,
)
from .decode import (
    DecodeError,
    Video,
    VideoInfo,
    num_frames,
    open_video,
    read_frames,
    video_info,
)
from .loader import SeededSampler, ShardSampler, build_loader, item_seed
from .mixup import MixupCutmix, smooth_one_hot
from .sampling import FrameSampler, interval_indices, segment_indices
from .transforms import EvalTransform, TrainTransform

__all__ = [
    "Annotations",
    "DataConfig",
    "DecodeError",
    "EvalTransform",
    "FrameSampler",
    "MixupCutmix",
    "SeededSampler",
    "ShardSampler",
    "TrainTransform",
    "Video",
    "VideoDataset",
    "VideoInfo",
    "VideoRecord",
    "build_dataset",
    "build_loader",
    "flip_label_map",
    "interval_indices",
    "item_seed",
    "load_data_config",
    "num_frames",
    "open_video",
    "read_annotations",
    "read_class_names",
    "read_frames",
    "segment_indices",
    "smooth_one_hot",
    "ssv2_class_name",
    "video_info",
]
