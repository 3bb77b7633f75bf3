import pytest
import torch
from torch import nn

from models import MODELS, flops_per_image, get_model

# The tutorial net's multiply-adds per image, from its layer shapes:
# conv1 28*28 outputs * 6 channels * (3*5*5) inputs, conv2 10*10 * 16 * (6*5*5),
# then fc 400*120, 120*84, 84*10.
TUTORIAL_FORWARD_MACS = 28 * 28 * 6 * 3 * 25 + 10 * 10 * 16 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10


@pytest.mark.parametrize("name", list(MODELS))
def test_model_maps_cifar_images_to_ten_logits(name):
    model = get_model(name)
    logits = model(torch.randn(3, 3, 32, 32))
    assert logits.shape == (3, 10)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_parameter_gets_a_gradient(name):
    model = get_model(name)
    loss = nn.functional.cross_entropy(model(torch.randn(2, 3, 32, 32)), torch.tensor([1, 7]))
    loss.backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, parameter_name
        assert torch.isfinite(parameter.grad).all(), parameter_name
    assert any(parameter.grad.abs().sum() > 0 for parameter in model.parameters())


def test_tutorial_net_is_the_tutorials_layer_for_layer():
    model = get_model("tutorial")
    layers = [(name, type(module).__name__) for name, module in model.named_children()]
    assert layers == [("conv1", "Conv2d"), ("pool", "MaxPool2d"), ("conv2", "Conv2d"),
                      ("fc1", "Linear"), ("fc2", "Linear"), ("fc3", "Linear")]
    assert (model.conv1.in_channels, model.conv1.out_channels, model.conv1.kernel_size) == (3, 6, (5, 5))
    assert (model.conv2.in_channels, model.conv2.out_channels, model.conv2.kernel_size) == (6, 16, (5, 5))
    assert [(fc.in_features, fc.out_features) for fc in (model.fc1, model.fc2, model.fc3)] == [
        (400, 120), (120, 84), (84, 10)]


def test_resnet18_has_the_cifar_stem():
    model = get_model("resnet18")
    assert model.conv1.kernel_size == (3, 3)
    assert model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    assert model.fc.out_features == 10


def test_tutorial_forward_flops_match_its_layer_shapes():
    assert TUTORIAL_FORWARD_MACS == 651_720
    assert flops_per_image("tutorial")["forward"] == 2 * TUTORIAL_FORWARD_MACS


@pytest.mark.parametrize("name", list(MODELS))
def test_training_costs_about_three_forwards(name):
    flops = flops_per_image(name)
    # Backward is about twice the forward (gradients for inputs and weights), minus the
    # first layer's input gradient, which nobody asks for.
    assert 2.0 < flops["train"] / flops["forward"] < 3.05


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown model 'vgg'.*tutorial, resnet18"):
        get_model("vgg")
