"""The transforms: torchvision's per-sample ones (`pil_transform`) and the same arithmetic on whole batches."""

from __future__ import annotations

import torch
import torchvision.transforms as T

from bench.data.splits import Split

# The tutorial normalizes every channel with mean 0.5 and std 0.5.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
TRANSFORMS = ("tutorial", "augmented")


def pil_transform(name: str) -> T.Compose:
    """The per-sample transforms: the tutorial's, or the usual CIFAR augmentation."""
    normalize = [T.ToTensor(), T.Normalize(MEAN, STD)]
    if name == "tutorial":
        return T.Compose(normalize)
    if name == "augmented":
        return T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), *normalize])
    raise ValueError(f"unknown transform {name!r}; choose one of: {', '.join(TRANSFORMS)}")


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
