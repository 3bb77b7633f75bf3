"""The real CIFAR-10, read by torchvision from a directory; `load_cifar10` picks real or synthetic."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10

from bench.data.splits import Cifar10, Split
from bench.data.synthetic import synthetic_cifar10

DATA_DIR_ENV = "CIFAR10_ROOT"


class DataError(RuntimeError):
    """The data set asked for cannot be used; the message says why and what to do."""


def resolve_data_dir(option_value: str | os.PathLike | None) -> Path | None:
    """The real CIFAR-10 directory from an option, else from $CIFAR10_ROOT, else None."""
    value = option_value or os.environ.get(DATA_DIR_ENV) or None
    return Path(value).expanduser() if value else None


def real_cifar10(root: Path, download: bool = False) -> Cifar10:
    """CIFAR-10 read by `torchvision.datasets.CIFAR10` from `root`.

    Never falls back to synthetic data: a missing, empty or corrupt directory raises
    `DataError` naming the path and the fix.
    """
    root = Path(root)
    if not download:
        if not root.exists():
            raise DataError(
                f"CIFAR-10 directory {root} does not exist. Point --bench-data-dir (or "
                f"${DATA_DIR_ENV}) at the folder that holds 'cifar-10-batches-py', or add "
                "--bench-download to download it there."
            )
        if not root.is_dir() or not any(root.iterdir()):
            raise DataError(
                f"CIFAR-10 directory {root} is empty or not a directory. Extract "
                "cifar-10-python.tar.gz there (it makes 'cifar-10-batches-py'), or add "
                "--bench-download to download it."
            )
    if download:
        try:
            CIFAR10(root=str(root), train=True, download=True)  # a no-op when the files are there
        except Exception as error:  # URLError, HTTPError, TimeoutError, OSError: no network, no room
            raise DataError(
                f"downloading CIFAR-10 into {root} failed ({type(error).__name__}: {error}). Without "
                f"network here, fetch cifar-10-python.tar.gz ({CIFAR10.url}) on another machine, "
                f"extract it into {root} (it makes 'cifar-10-batches-py') and run without --bench-download."
            ) from error
    splits = {}
    for name, train in (("train", True), ("test", False)):
        try:
            dataset = CIFAR10(root=str(root), train=train, download=False)
        except RuntimeError as error:  # torchvision: "Dataset not found or corrupted."
            raise DataError(
                f"CIFAR-10 under {root} is missing or corrupt ({error}). torchvision checks "
                f"the md5 of every file in {root / CIFAR10.base_folder}: re-extract "
                "cifar-10-python.tar.gz there, or delete that folder and add --bench-download."
            ) from error
        except Exception as error:  # a file that passes md5 but fails to unpickle
            raise DataError(f"could not read CIFAR-10 under {root}: {error!r}") from error
        splits[name] = Split(np.asarray(dataset.data), np.asarray(dataset.targets, dtype=np.int64))
    return Cifar10(train=splits["train"], test=splits["test"], source=str(root))


def load_cifar10(data_dir: Path | None, download: bool = False, seed: int = 0) -> Cifar10:
    """Real CIFAR-10 when a directory is given (or download asked for), else the embedded hard
    synthetic set (source "synthetic-hard"): the same shapes and per-image work as the real one,
    and a learning curve like it, so the converge group's time to accuracy means something."""
    if data_dir is None:
        if download:
            raise DataError(
                "--bench-download needs a directory to download into: add "
                f"--bench-data-dir DIR or set ${DATA_DIR_ENV}."
            )
        return synthetic_cifar10(seed, difficulty="hard")
    return real_cifar10(data_dir, download=download)
