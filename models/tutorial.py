"""The CNN of PyTorch's "Training a Classifier" tutorial (CIFAR-10), layer for layer.

Source: https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html
("Define a Convolutional Neural Network"). Kept verbatim apart from the class name, so
its timings are the tutorial's timings.
"""

import torch
import torch.nn.functional as F
from torch import nn


class TutorialNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x
