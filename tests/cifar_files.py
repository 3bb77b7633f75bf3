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


# For a child process (a sweep run as a user runs it): torchvision checks the real files' md5s,
# which files written here cannot have, so this sitecustomize gives it the written ones.
CHECKSUMS_HOOK = """
import json, os
from torchvision.datasets import CIFAR10
_md5s = json.loads(os.environ["CIFARBENCH_TEST_MD5S"])
CIFAR10.train_list = [[f"data_batch_{n}", _md5s[f"data_batch_{n}"]] for n in range(1, 6)]
CIFAR10.test_list = [["test_batch", _md5s["test_batch"]]]
CIFAR10.meta = dict(CIFAR10.meta, md5=_md5s["batches.meta"])
"""


def small_cifar10(root: Path, train_images: int = 500, test_images: int = 100, seed: int = 0,
                  difficulty: str = "easy") -> dict[str, str]:
    """A small CIFAR-10 in its own file format under `root` (from a synthetic set: the easy one by
    default, which a few hundred images already teach), and the environment a child process needs
    to read it: PYTHONPATH with the checksums hook, the md5s."""
    import json
    import os

    from bench.data import Split, synthetic_cifar10

    source = synthetic_cifar10(seed, difficulty=difficulty)
    subset = Cifar10(Split(source.train.images[:train_images], source.train.labels[:train_images]),
                     Split(source.test.images[:test_images], source.test.labels[:test_images]), "small")
    md5s = write_cifar10_python(root, subset)
    hook = Path(root) / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(CHECKSUMS_HOOK)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
            "CIFARBENCH_TEST_MD5S": json.dumps(md5s)}
