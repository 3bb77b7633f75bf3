"""The values the data stages hand each other: `Split`, `Cifar10`, and CIFAR-10's sizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRAIN_IMAGES = 50_000
TEST_IMAGES = 10_000
NUM_CLASSES = 10
IMAGE_SHAPE_HWC = (32, 32, 3)


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
