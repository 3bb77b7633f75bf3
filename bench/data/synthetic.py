"""The embedded synthetic CIFAR-10: a learnable stand-in with the real one's shapes and sizes."""

from __future__ import annotations

from functools import cache

import numpy as np

from bench.data.splits import NUM_CLASSES, TEST_IMAGES, TRAIN_IMAGES, Cifar10, Split


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
