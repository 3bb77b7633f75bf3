"""Model registry: `MODELS` maps a name to a constructor; `get_model(name)` builds one.

FLOP counts come from `torch.utils.flop_counter`, measured on the model itself, so adding a
model needs no hand-typed constants.
"""

from collections.abc import Callable
from functools import cache

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models.resnet import cifar_resnet18
from models.tutorial import TutorialNet

MODELS: dict[str, Callable[[], nn.Module]] = {
    "tutorial": TutorialNet,
    "resnet18": cifar_resnet18,
}

INPUT_SHAPE = (3, 32, 32)
NUM_CLASSES = 10


def get_model(name: str) -> nn.Module:
    """A freshly initialised model, on the CPU, in float32."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None
    return factory()


@cache
def flops_per_image(name: str) -> dict[str, float]:
    """Forward and training (forward + backward) FLOPs per image, counted by torch.

    One multiply-add counts as two FLOPs, as `FlopCounterMode` does. Counted on a batch of 2
    in train mode (batch norm's batch statistics need more than one sample).
    """
    batch_images = 2
    model = get_model(name)
    inputs = torch.zeros(batch_images, *INPUT_SHAPE)
    labels = torch.zeros(batch_images, dtype=torch.long)
    with FlopCounterMode(display=False) as forward_counter:
        outputs = model(inputs)
    with FlopCounterMode(display=False) as backward_counter:
        nn.functional.cross_entropy(outputs, labels).backward()
    forward_flops = forward_counter.get_total_flops()
    backward_flops = backward_counter.get_total_flops()
    return {
        "forward": forward_flops / batch_images,
        "train": (forward_flops + backward_flops) / batch_images,
    }
