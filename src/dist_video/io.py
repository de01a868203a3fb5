"""Small file helpers shared by checkpoints, configs and reports."""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError, StorageError

__all__ = ["CheckpointError", "atomic_path", "remove_stale_temporaries", "read_torch_file", "read_safetensors"]


def read_torch_file(path: str | Path) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU: plain tensors and containers only,
    nothing executable. A file that is not one (truncated, empty, another format, or a
    pickle holding objects) raises :class:`CheckpointError` naming it; unsafe loading is
    never offered."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol; refused below anyway
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path}: not a safe checkpoint: it holds Python objects besides tensors and plain "
            "containers, and such files are not loaded"
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, OSError) as err:
        reason = str(err).split(". ")[0] or "the file is empty"
        raise CheckpointError(
            f"{path}: not a valid checkpoint (truncated, empty or another format: {reason})"
        ) from None


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """A ``.safetensors`` file's tensors; a damaged file raises :class:`CheckpointError`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: not a valid safetensors file ({err})") from None


_TEMPORARY = ".tmp"
_LOW_SPACE = 16 << 20  # bytes: a failed write with less left than this is taken as a full disk


def _out_of_space(error: BaseException, folder: Path) -> bool:
    """Whether a failed write failed for want of space. torch's writer reports a full disk
    as a RuntimeError of its own ("[enforce fail at inline_container.cc] ... file write
    failed"), so the free space is checked as well."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not isinstance(error, (OSError, RuntimeError)):
        return False
    try:
        return shutil.disk_usage(folder).free < _LOW_SPACE
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporaries that :func:`atomic_path` left in ``folder`` when a process
    died mid-write (``.NAME.XXXX.tmp``); returns them. Call it only where no write is in
    progress (a run's folder when the run starts)."""
    stale = [p for p in Path(folder).glob(f".*{_TEMPORARY}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    A crash while writing leaves the old file (if any) untouched and no partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMPORARY, dir=path.parent)
    os.close(fd)
    existed = path.exists()
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would outlive the rename: follow the umask
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if _out_of_space(err, path.parent):
            kept = f"; the previous {path.name} is intact" if existed else ""
            raise StorageError(errno.ENOSPC, f"no space left on the device holding {path}{kept}") from None
        raise
