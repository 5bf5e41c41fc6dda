"""The paper's two custom CNNs.

Nadeem et al. 2024 do not publish their layers, so these are edgeemo's designs:

* ``cnn1`` — small: three conv→BN→ReLU→max-pool stages (32/64/128 channels) and a
  256-unit fully connected layer; about 23 M multiply-adds per 48×48 face.
* ``cnn2`` — deeper: four stages of two 3×3 convs each (32/64/128/256 channels) with batch
  norm, global average pooling and a 256-unit head; about 118 M multiply-adds.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import conv_bn_relu, init_weights


class CNN1(nn.Module):
    def __init__(self, num_classes: int = 7, in_channels: int = 1, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(in_channels, 32), nn.MaxPool2d(2),
            conv_bn_relu(32, 64), nn.MaxPool2d(2),
            conv_bn_relu(64, 128), nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(128 * 6 * 6, 256), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(256, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


class CNN2(nn.Module):
    def __init__(self, num_classes: int = 7, in_channels: int = 1, dropout: float = 0.4) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for cout in (32, 64, 128, 256):
            layers += [conv_bn_relu(cin, cout), conv_bn_relu(cout, cout), nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(256, 256), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(256, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))
