"""The answer as code: the winning settings written so a user can paste them into the tutorial's script.

The tutorial (pytorch.org, "Training a Classifier") builds `trainset` with torchvision's CIFAR10
and the transform ToTensor + Normalize(0.5, 0.5), then a DataLoader, the net, CrossEntropyLoss
and SGD. `settings_code` gives the lines that replace its DataLoader, device and thread set-up
for the settings cifarbench found fastest: for the `pil` pipeline, the tutorial's own
DataLoader with other arguments; for `tensor`, the data set as one uint8 tensor cut into whole
batches by a DataLoader (the transform applied to a whole batch at once); for `device`, the data
set resident on the device and batches cut there (no DataLoader). With a learning-rate plan
(bench/recipe.py), the optimizer and its warm-up too. It is checked as Python and run against
a stand-in data set by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping

TUTORIAL_URL = "https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html"
# The tutorial's transform on a whole uint8 NCHW batch: ToTensor (to [0, 1]) then Normalize(0.5, 0.5).
BATCH_TRANSFORM = "images.float().div(255).sub(0.5).div(0.5)"


def settings_code(settings: Mapping[str, object], lr: float | None = None, warmup_steps: int | None = None,
                  momentum: float = 0.9) -> str:
    """Python lines for `settings` (device, loader, batch_size, num_workers, threads, pin_memory), in
    the tutorial's names (`trainset`, `net`); `lr` and `warmup_steps`: the optimizer as well."""
    device = str(settings.get("device") or "cpu")
    loader = settings.get("loader") or "pil"
    batch = int(settings["batch_size"])
    workers = int(settings.get("num_workers") or 0)
    threads = settings.get("threads")
    pin = bool(settings.get("pin_memory")) or (device.startswith("cuda") and loader != "device")
    lines = ["import torch", ""]
    if threads:
        lines.append(f"torch.set_num_threads({int(threads)})  # torch's intra-op threads")
    lines.append(f"device = torch.device({device!r})")
    persistent = ", persistent_workers=True" if workers else ""
    if loader == "pil":
        lines.append(f"trainloader = torch.utils.data.DataLoader(trainset, batch_size={batch}, shuffle=True, "
                     f"num_workers={workers}, pin_memory={pin}{persistent})")
    elif loader == "tensor":
        lines += [
            "# The whole set as one uint8 tensor, cut into whole batches (no PIL, no per-image transform):",
            "images = torch.from_numpy(trainset.data).permute(0, 3, 1, 2).contiguous()",
            "labels = torch.tensor(trainset.targets)",
            "dataset = torch.utils.data.TensorDataset(images, labels)",
            "batches = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(dataset), "
            f"batch_size={batch}, drop_last=False)",
            "trainloader = torch.utils.data.DataLoader(dataset, batch_size=None, sampler=batches, "
            f"num_workers={workers}, pin_memory={pin}{persistent})",
            f"# in the loop, per batch: images = {BATCH_TRANSFORM}",
        ]
    else:
        lines += [
            "# The whole set resident on the device; each epoch a fresh shuffle, batches cut there:",
            "images = torch.from_numpy(trainset.data).permute(0, 3, 1, 2).contiguous().to(device)",
            "labels = torch.tensor(trainset.targets, device=device)",
            "def trainloader_epoch():",
            f"    for order in torch.randperm(len(labels), device=device).split({batch}):",
            "        yield images[order].float().div(255).sub(0.5).div(0.5), labels[order]",
        ]
    lines.append("net = net.to(device)")
    if lr is not None:
        lines.append(f"optimizer = torch.optim.SGD(net.parameters(), lr={lr:g}, momentum={momentum:g})")
        if warmup_steps:
            lines.append(f"scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: "
                         f"min(1.0, (step + 1) / {int(warmup_steps)}))  # scheduler.step() after each optimizer step")
    return "\n".join(lines) + "\n"
