"""CIFAR-10 for the benchmarks: the real data set through torchvision, or an embedded synthetic one.

Both are served by `torchvision.datasets.CIFAR10.__getitem__` (uint8 HWC array -> PIL image ->
transform), so a loader timed on synthetic data does the same per-sample work as on the real
thing. The three input pipelines of the `loader` axis are built here:

- `pil`: torchvision's per-sample path through a DataLoader, as the tutorial does;
- `tensor`: the data set as one uint8 tensor, whole batches transformed at once, no PIL;
- `device`: the data set resident on the accelerator, batches cut and augmented there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as T
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler
from torchvision.datasets import CIFAR10

TRAIN_IMAGES = 50_000
TEST_IMAGES = 10_000
NUM_CLASSES = 10
IMAGE_SHAPE_HWC = (32, 32, 3)
# The tutorial normalizes every channel with mean 0.5 and std 0.5.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
TRANSFORMS = ("tutorial", "augmented")
LOADERS = ("pil", "tensor", "device")
DATA_DIR_ENV = "CIFAR10_ROOT"


class DataError(RuntimeError):
    """The data set asked for cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Split:
    """One split as torchvision's CIFAR10 holds it: uint8 images (N, 32, 32, 3) and labels."""

    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Cifar10:
    train: Split
    test: Split
    source: str  # "synthetic" or the real data directory


# --- the synthetic data set -------------------------------------------------------------------


@cache
def synthetic_cifar10(seed: int = 0) -> Cifar10:
    """A learnable stand-in for CIFAR-10: 50,000 train and 10,000 test images, 10 classes.

    Each class has its own colour pattern of 4x4 blocks; an image is its class pattern at a
    random contrast and brightness under strong uniform noise (noise range 0..127 against a
    signal range of at most 0..128), so a small CNN must learn the pattern, and one epoch of
    the tutorial net scores far above chance. Deterministic for a seed, built once per process
    (cached). All arithmetic stays in uint8 at block resolution, so building takes about a
    second.
    """
    rng = np.random.default_rng(seed)
    patterns = rng.uniform(-1.0, 1.0, size=(NUM_CLASSES, 4, 4, 3)).astype(np.float32)

    def make(count: int) -> Split:
        labels = rng.integers(0, NUM_CLASSES, size=count, dtype=np.int64)
        contrast = rng.uniform(4.0, 24.0, size=(count, 1, 1, 1)).astype(np.float32)
        brightness = rng.uniform(56.0, 72.0, size=(count, 1, 1, 1)).astype(np.float32)
        blocks = np.clip(patterns[labels] * contrast + brightness, 0, 128).astype(np.uint8)
        images = blocks.repeat(8, axis=1).repeat(8, axis=2)  # (count, 32, 32, 3)
        # Raw random bytes halved: uniform 0..127, far cheaper than rng.integers at this size.
        noise = np.frombuffer(rng.bytes(images.size), dtype=np.uint8).reshape(images.shape) >> 1
        images += noise  # at most 128 + 127: no overflow
        return Split(images, labels)

    return Cifar10(train=make(TRAIN_IMAGES), test=make(TEST_IMAGES), source="synthetic")


# --- the real data set ------------------------------------------------------------------------


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
    """Real CIFAR-10 when a directory is given (or download asked for), synthetic otherwise."""
    if data_dir is None:
        if download:
            raise DataError(
                "--bench-download needs a directory to download into: add "
                f"--bench-data-dir DIR or set ${DATA_DIR_ENV}."
            )
        return synthetic_cifar10(seed)
    return real_cifar10(data_dir, download=download)


# --- per-sample datasets: torchvision's path --------------------------------------------------


class ArrayCIFAR10(CIFAR10):
    """torchvision's CIFAR10 over arrays in memory: its own `__getitem__`, no files.

    Subclassing (rather than copying `__getitem__`) keeps the per-sample path exactly
    torchvision's: `Image.fromarray(img)` then the transform.
    """

    def __init__(self, split: Split, transform=None, target_transform=None):
        # VisionDataset.__init__ only records root and transforms; CIFAR10.__init__ would
        # look for files, so it is skipped on purpose.
        super(CIFAR10, self).__init__(root="", transform=transform, target_transform=target_transform)
        self.train = True
        self.data = split.images
        self.targets = split.labels.tolist()


def pil_transform(name: str) -> T.Compose:
    """The per-sample transforms: the tutorial's, or the usual CIFAR augmentation."""
    normalize = [T.ToTensor(), T.Normalize(MEAN, STD)]
    if name == "tutorial":
        return T.Compose(normalize)
    if name == "augmented":
        return T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), *normalize])
    raise ValueError(f"unknown transform {name!r}; choose one of: {', '.join(TRANSFORMS)}")


# --- batched transforms: the `tensor` and `device` pipelines ----------------------------------


def to_nchw_uint8(split: Split) -> torch.Tensor:
    """The split's images as one contiguous (N, 3, 32, 32) uint8 tensor."""
    return torch.from_numpy(split.images).permute(0, 3, 1, 2).contiguous()


def batch_transform(
    images_uint8: torch.Tensor, name: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """`pil_transform(name)` applied to a whole uint8 NCHW batch at once, on its device.

    Same arithmetic as ToTensor + Normalize; the augmentation draws a crop offset and a flip
    per image, as RandomCrop(32, padding=4) + RandomHorizontalFlip do.
    """
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; choose one of: {', '.join(TRANSFORMS)}")
    images = images_uint8.float().div_(255.0)
    if name == "augmented":
        images = random_crop_flip(images, padding=4, generator=generator)
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    return images.sub_(mean).div_(std)


def random_crop_flip(
    images: torch.Tensor, padding: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per-image random crop (zero padding) and horizontal flip of an NCHW float batch."""
    count, _, height, width = images.shape
    device = images.device
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    offset_y = torch.randint(0, 2 * padding + 1, (count,), device=device, generator=generator)
    offset_x = torch.randint(0, 2 * padding + 1, (count,), device=device, generator=generator)
    flip = torch.rand(count, device=device, generator=generator) < 0.5
    rows = (offset_y[:, None] + torch.arange(height, device=device)).view(count, 1, height, 1)
    columns = torch.arange(width, device=device).expand(count, width)
    columns = torch.where(flip[:, None], columns.flip(1), columns) + offset_x[:, None]
    columns = columns.view(count, 1, 1, width)
    batch_index = torch.arange(count, device=device).view(count, 1, 1, 1)
    channel_index = torch.arange(images.shape[1], device=device).view(1, -1, 1, 1)
    return padded[batch_index, channel_index, rows, columns]


class TensorBatches(Dataset):
    """A data set whose items are whole batches: indexed by a list of indices (BatchSampler)."""

    def __init__(self, split: Split, transform: str):
        self.images = to_nchw_uint8(split)
        self.labels = torch.from_numpy(split.labels)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices)
        return batch_transform(self.images[index], self.transform), self.labels[index]


class DeviceBatches:
    """The whole split resident on `device`; each epoch a fresh shuffle, batches cut there.

    No workers, no host-to-device copies inside the epoch: the input pipeline's floor.
    """

    def __init__(self, split: Split, transform: str, batch_size: int, device: torch.device,
                 shuffle: bool = True, drop_last: bool = False, seed: int = 0):
        if transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {transform!r}; choose one of: {', '.join(TRANSFORMS)}")
        self.device = torch.device(device)
        self.images = to_nchw_uint8(split).to(self.device)
        self.labels = torch.from_numpy(split.labels).to(self.device)
        self.transform = transform
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def __len__(self) -> int:
        full, rest = divmod(len(self.labels), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.labels)
        if self.shuffle:
            order = torch.randperm(count, device=self.device, generator=self.generator)
        else:
            order = torch.arange(count, device=self.device)
        for batch_index in range(len(self)):
            index = order[batch_index * self.batch_size:(batch_index + 1) * self.batch_size]
            images = batch_transform(self.images[index], self.transform, self.generator)
            yield images, self.labels[index]


def make_loader(
    split: Split,
    loader: str,
    transform: str,
    batch_size: int,
    num_workers: int = 0,
    pin_memory: bool = False,
    shuffle: bool = True,
    device: torch.device | str = "cpu",
    persistent_workers: bool = False,
    seed: int = 0,
    drop_last: bool = False,
):
    """An iterable of (images, labels) batches for one input pipeline (see module docstring).

    `pil` and `tensor` return a `torch.utils.data.DataLoader`; `device` returns
    `DeviceBatches`, which takes no workers and no pinned memory (ValueError otherwise).
    `drop_last`: leave out the last, smaller batch of a pass (every batch has one shape).
    """
    if loader == "pil":
        dataset = ArrayCIFAR10(split, transform=pil_transform(transform))
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
            pin_memory=pin_memory, persistent_workers=persistent_workers and num_workers > 0,
            generator=generator, drop_last=drop_last,
        )
    if loader == "tensor":
        dataset = TensorBatches(split, transform)
        generator = torch.Generator().manual_seed(seed)
        sampler = RandomSampler(dataset, generator=generator) if shuffle else range(len(dataset))
        # batch_size=None: each item of TensorBatches already is a batch.
        return DataLoader(
            dataset, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last=drop_last),
            num_workers=num_workers, pin_memory=pin_memory,
            persistent_workers=persistent_workers and num_workers > 0,
        )
    if loader == "device":
        if num_workers or pin_memory:
            raise ValueError("the 'device' pipeline runs on the device: it takes no workers and no pinned memory")
        return DeviceBatches(split, transform, batch_size, torch.device(device), shuffle=shuffle,
                             drop_last=drop_last, seed=seed)
    raise ValueError(f"unknown loader {loader!r}; choose one of: {', '.join(LOADERS)}")
