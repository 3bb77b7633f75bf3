"""The device input pipeline and the GPU train steps: same batches as the tensor pipeline, finite losses."""

import pytest
import torch
from torch import nn

from bench.data import make_loader, synthetic_cifar10
from bench.workload import make_optimizer, prepare_model, train_step
from models import get_model
from tests.gpu import requires_cuda

pytestmark = requires_cuda

BATCH = 64


@pytest.fixture(scope="module")
def data():
    return synthetic_cifar10(seed=0)


@pytest.mark.parametrize("transform", ["tutorial", "augmented"])
def test_device_batches_match_tensor_batches(data, transform):
    on_host = make_loader(data.train, "tensor", transform, BATCH, shuffle=False)
    on_device = make_loader(data.train, "device", transform, BATCH, shuffle=False, device="cuda")
    host_images, host_labels = next(iter(on_host))
    device_images, device_labels = next(iter(on_device))

    assert device_images.device.type == "cuda"
    assert device_images.shape == host_images.shape == (BATCH, 3, 32, 32)
    assert device_labels.shape == host_labels.shape == (BATCH,)
    assert device_images.dtype == host_images.dtype == torch.float32
    assert device_labels.dtype == host_labels.dtype
    for images in (host_images, device_images.cpu()):
        assert images.min() >= -1.0 - 1e-6  # Normalize(0.5, 0.5) of [0, 1]; padding reads -1
        assert images.max() <= 1.0 + 1e-6
    assert torch.equal(device_labels.cpu(), host_labels)  # the same images, unshuffled
    assert int(device_labels.min()) >= 0
    assert int(device_labels.max()) < 10
    if transform == "tutorial":  # no randomness: the same numbers
        torch.testing.assert_close(device_images.cpu(), host_images)
    else:  # crops and flips differ, the statistics do not
        assert abs(device_images.mean().item() - host_images.mean().item()) < 0.1


@pytest.mark.parametrize("model", ["tutorial", "resnet18"])
@pytest.mark.parametrize(("amp", "channels_last"), [(False, False), (True, False), (False, True), (True, True)],
                         ids=["fp32", "bf16", "fp32-channels_last", "bf16-channels_last"])
def test_train_steps_on_the_gpu(model, amp, channels_last):
    device = torch.device("cuda", 0)
    if amp and not torch.cuda.is_bf16_supported():
        pytest.skip(f"{torch.cuda.get_device_name(device)} does not support bf16")
    torch.cuda.reset_peak_memory_stats(device)
    net = prepare_model(get_model(model), device, channels_last=channels_last).train()
    optimizer = make_optimizer(net)
    criterion = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(BATCH, 3, 32, 32, generator=generator).to(device)
    labels = torch.randint(0, 10, (BATCH,), generator=generator).to(device)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    losses = [train_step(net, optimizer, criterion, images, labels, amp=amp) for _ in range(3)]
    values = torch.stack(losses).float().cpu()  # host-device sync point
    assert torch.isfinite(values).all(), values
    assert torch.cuda.max_memory_allocated(device) > 0
