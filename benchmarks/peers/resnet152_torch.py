"""ResNet-152 written out in plain PyTorch, equivalent to torchvision's ``resnet152()``.

torchvision is not installable here, so the peers build the network from this module. The
layout is torchvision's: Bottleneck blocks [3, 8, 36, 3], the stride on the 3×3
convolution, a 1×1 strided convolution plus batch norm as the downsample path.
"""

from __future__ import annotations

from torch import Tensor, nn

EXPECTED_PARAMS = 60_192_808
"""torchvision's documented parameter count for ResNet-152."""

BLOCKS_PER_STAGE = (3, 8, 36, 3)
EXPANSION = 4


class Bottleneck(nn.Module):
    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out_channels = width * EXPANSION
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_stage(in_channels: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [Bottleneck(in_channels, width, stride)]
    layers += [Bottleneck(width * EXPANSION, width, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet152(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages = []
        in_channels = 64
        for index, blocks in enumerate(BLOCKS_PER_STAGE):
            width = 64 * 2**index
            stride = 1 if index == 0 else 2
            stages.append(make_stage(in_channels, width, blocks, stride))
            in_channels = width * EXPANSION
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def build_resnet152() -> ResNet152:
    """The model in eval mode, its parameter count checked against torchvision's."""
    model = ResNet152().eval()
    params = sum(parameter.numel() for parameter in model.parameters())
    assert params == EXPECTED_PARAMS, f"ResNet-152 has {params:,} params, not {EXPECTED_PARAMS:,}"
    return model
