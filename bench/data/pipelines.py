"""The three input pipelines of the `loader` axis, and `make_loader`, which builds one.

- `pil`: torchvision's per-sample path through a DataLoader, as the tutorial does;
- `tensor`: the data set as one uint8 tensor, whole batches transformed at once, no PIL;
- `device`: the data set resident on the accelerator, batches cut and augmented there.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler
from torchvision.datasets import CIFAR10

from bench.data.splits import Split
from bench.data.transforms import TRANSFORMS, batch_transform, pil_transform, to_nchw_uint8

LOADERS = ("pil", "tensor", "device")


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
