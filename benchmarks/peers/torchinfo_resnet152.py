"""Peer: torchinfo summarises ResNet-152 on a 1×3×224×224 input (whole process timed)."""

from resnet152_torch import build_resnet152
from torchinfo import summary


def main() -> None:
    print(summary(build_resnet152(), input_size=(1, 3, 224, 224), verbose=0))


if __name__ == "__main__":
    main()
