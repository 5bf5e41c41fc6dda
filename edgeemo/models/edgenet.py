"""EdgeNet: edgeemo's default model, designed for accuracy per millisecond on one CPU core.

A 3×3 stem at full 48×48 resolution (cheap: one input channel), then three residual
stages at 24×24, 12×12 and 6×6 that each halve the resolution with a strided conv and
double the width (64/128/256). Each stage costs about the same number of multiply-adds,
so no layer dominates latency. Plain convs, batch norm and ReLU only: every op fuses and
quantizes well in onnxruntime, OpenVINO and TensorRT (no depthwise convs, whose
per-channel INT8 scales are fragile). About 100 M multiply-adds and 1.2 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import conv_bn_relu, init_weights


class ResidualStage(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout, stride=2)
        self.conv2 = nn.Sequential(
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


class ResidualBlock(nn.Module):
    """Two 3×3 convs at constant width and resolution around an identity shortcut."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(width, width)
        self.conv2 = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + x)


class EdgeNet(nn.Module):
    """``blocks[i]`` is how many residual blocks stage ``i`` has: its strided stage plus
    ``blocks[i] - 1`` blocks at its resolution (one each by default)."""

    def __init__(
        self,
        num_classes: int = 7,
        in_channels: int = 1,
        widths: tuple[int, ...] = (32, 64, 128, 256),
        dropout: float = 0.3,
        blocks: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        blocks = blocks or (1,) * (len(widths) - 1)
        self.stem = conv_bn_relu(in_channels, widths[0])
        layers: list[nn.Module] = []
        for cin, cout, n in zip(widths[:-1], widths[1:], blocks):
            layers += [ResidualStage(cin, cout), *(ResidualBlock(cout) for _ in range(n - 1))]
        self.stages = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[-1], num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.stages(self.stem(x))))


class FastNet(EdgeNet):
    """EdgeNet at half the width per stage (16/32/64/128): a quarter of the multiply-adds, for many faces per
    frame on small boards."""

    def __init__(self, num_classes: int = 7, in_channels: int = 1) -> None:
        super().__init__(num_classes, in_channels, widths=(16, 32, 64, 128), dropout=0.1)


class WideNet(EdgeNet):
    """EdgeNet at twice the width per stage (64/128/256/512), four times the multiply-adds: a teacher to
    distil into ``edgenet`` (``edgeemo train --teacher``), too slow to ship for edge devices."""

    def __init__(self, num_classes: int = 7, in_channels: int = 1) -> None:
        super().__init__(num_classes, in_channels, widths=(64, 128, 256, 512), dropout=0.3)


class DeepNet(EdgeNet):
    """EdgeNet made deeper and narrower at the same cost: four strided stages (24/48/96/192/384 ch, down to
    3×3) and a second block at 6×6; eleven 3×3 convs instead of seven, 3.4 M parameters, ~99 M
    multiply-adds. Plain conv/BN/ReLU like ``edgenet``, so it quantizes the same way."""

    def __init__(self, num_classes: int = 7, in_channels: int = 1) -> None:
        super().__init__(num_classes, in_channels, widths=(24, 48, 96, 192, 384), dropout=0.3,
                         blocks=(1, 1, 2, 1))
