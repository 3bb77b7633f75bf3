"""ResNet-18 in its CIFAR form, built from torchvision's ResNet.

The ImageNet stem (7x7 stride-2 conv, then a stride-2 max-pool) would shrink a 32x32 image to
8x8 before the first residual stage; the CIFAR variant (He et al. 2016, section 4.2, and the
widely used kuangliu/pytorch-cifar) uses a 3x3 stride-1 conv and no max-pool instead.
"""

from torch import nn
from torchvision.models import resnet18


def cifar_resnet18(num_classes: int = 10) -> nn.Module:
    model = resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model
