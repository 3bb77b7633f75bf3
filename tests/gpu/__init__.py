"""Checks that need a CUDA GPU, collected by the normal test run.

Every module marks itself `pytestmark = requires_cuda`: where CUDA is absent its tests skip
with the reason. Nothing here times anything or asserts on a speed.
"""

import pytest
import torch

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                   reason="needs a CUDA GPU: torch.cuda.is_available() is False on this machine")
