"""Writes CIFAR-10's "python version" files (pickled batches) from arrays, for the loading tests.

The layout and keys are those of cifar-10-python.tar.gz: cifar-10-batches-py/data_batch_1..5,
test_batch and batches.meta, each a pickled dict with "data" (N x 3072 uint8, channel-major)
and "labels".
"""

import hashlib
import pickle
from pathlib import Path

import numpy as np

from bench.data import Cifar10

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar10_python(root: Path, data: Cifar10) -> dict[str, str]:
    """Write the files under root/cifar-10-batches-py; return each file's md5."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train_parts = np.array_split(np.arange(len(data.train.labels)), 5)
    batches = {f"data_batch_{number + 1}": (data.train, part) for number, part in enumerate(train_parts)}
    batches["test_batch"] = (data.test, np.arange(len(data.test.labels)))
    md5s = {}
    for name, (split, index) in batches.items():
        images = split.images[index].transpose(0, 3, 1, 2).reshape(len(index), -1)
        entry = {"batch_label": name, "labels": split.labels[index].tolist(), "data": images}
        md5s[name] = _dump(folder / name, entry)
    md5s["batches.meta"] = _dump(folder / "batches.meta", {"label_names": CLASSES, "num_vis": 3072})
    return md5s


def _dump(path: Path, obj) -> str:
    payload = pickle.dumps(obj)
    path.write_bytes(payload)
    return hashlib.md5(payload).hexdigest()
