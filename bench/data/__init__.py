"""CIFAR-10 for the benchmarks: the real data set through torchvision, or an embedded synthetic one.

Both are served by `torchvision.datasets.CIFAR10.__getitem__` (uint8 HWC array -> PIL image ->
transform), so a loader timed on synthetic data does the same per-sample work as on the real
thing. The three input pipelines of the `loader` axis are built here:

- `pil`: torchvision's per-sample path through a DataLoader, as the tutorial does;
- `tensor`: the data set as one uint8 tensor, whole batches transformed at once, no PIL;
- `device`: the data set resident on the accelerator, batches cut and augmented there.

Modules, one job each: `splits` (`Split`, `Cifar10`, the data set's sizes), `synthetic` (the
embedded stand-ins, easy or hard), `real` (torchvision's files, `DataError`, and `load_cifar10`,
which picks one of the two), `transforms` (per-sample and batched), `pipelines` (the `loader`
axis and `make_loader`).
"""

from bench.data.pipelines import LOADERS, ArrayCIFAR10, DeviceBatches, TensorBatches, make_loader
from bench.data.real import DATA_DIR_ENV, DataError, load_cifar10, real_cifar10, resolve_data_dir
from bench.data.splits import IMAGE_SHAPE_HWC, NUM_CLASSES, TEST_IMAGES, TRAIN_IMAGES, Cifar10, Split
from bench.data.synthetic import (
    DIFFICULTIES,
    HARD_SPEC,
    SYNTHETIC_SOURCES,
    HardSpec,
    easy_synthetic_cifar10,
    hard_synthetic_cifar10,
    synthetic_cifar10,
)
from bench.data.transforms import MEAN, STD, TRANSFORMS, batch_transform, pil_transform, random_crop_flip, to_nchw_uint8

__all__ = [
    "DATA_DIR_ENV",
    "DIFFICULTIES",
    "HARD_SPEC",
    "IMAGE_SHAPE_HWC",
    "LOADERS",
    "MEAN",
    "NUM_CLASSES",
    "STD",
    "SYNTHETIC_SOURCES",
    "TEST_IMAGES",
    "TRAIN_IMAGES",
    "TRANSFORMS",
    "ArrayCIFAR10",
    "Cifar10",
    "DataError",
    "DeviceBatches",
    "HardSpec",
    "Split",
    "TensorBatches",
    "batch_transform",
    "easy_synthetic_cifar10",
    "hard_synthetic_cifar10",
    "load_cifar10",
    "make_loader",
    "pil_transform",
    "random_crop_flip",
    "real_cifar10",
    "resolve_data_dir",
    "synthetic_cifar10",
    "to_nchw_uint8",
]
