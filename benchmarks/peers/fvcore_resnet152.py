"""Peer: fvcore counts ResNet-152's FLOPs on a 1×3×224×224 input (whole process timed)."""

import torch
from fvcore.nn import FlopCountAnalysis
from resnet152_torch import build_resnet152


def main() -> None:
    model = build_resnet152()
    analysis = FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224))
    print(f"fvcore flops: {analysis.total():,}")


if __name__ == "__main__":
    main()
