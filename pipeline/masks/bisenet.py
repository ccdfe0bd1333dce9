"""BiSeNet face parsing: 19 CelebAMask-HQ classes per pixel of a face image.

The layout of face-parsing.PyTorch (zllrunning), module for module, so that its published
weights (`79999_iter.pth`, a plain state_dict) load with `strict=True`. As in that release,
the spatial path is the ResNet-18's own 1/8 feature map (its separate spatial-path
convolutions were dropped before training), fused with the context path (the 1/16 and 1/32
features, refined by attention and a global pooling branch). The two auxiliary heads of
training are kept, unused, so that the weights load whole.

Input: RGB normalised with ImageNet's mean and deviation, (N, 3, H, W) with H and W
multiples of 32 (the release was trained at 512); output: (N, 19, H, W) class scores.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CLASSES = ("background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear",
           "r_ear", "ear_r", "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth",
           "hair", "hat")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    """ResNet's two 3x3 convolutions around a shortcut (1x1 when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                         nn.BatchNorm2d(cout))
                           if cin != cout or stride != 1 else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(shortcut + residual)


def _stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout))


class ResNet18(nn.Module):
    """The backbone without its classifier: features at 1/8, 1/16 and 1/32 of the input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(64, 64, 1)
        self.layer2 = _stage(64, 128, 2)
        self.layer3 = _stage(128, 256, 2)
        self.layer4 = _stage(256, 512, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        eighth = self.layer2(x)
        sixteenth = self.layer3(eighth)
        return eighth, sixteenth, self.layer4(sixteenth)


class AttentionRefinement(nn.Module):
    """A 3x3 convolution whose channels are weighted by their global average."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(cin, cout)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.conv(x)
        weights = torch.sigmoid(self.bn_atten(self.conv_atten(F.adaptive_avg_pool2d(feature, 1))))
        return feature * weights


class ContextPath(nn.Module):
    """The backbone's deep features, refined and brought up to 1/8 and 1/16 of the input."""

    def __init__(self) -> None:
        super().__init__()
        self.resnet = ResNet18()
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128)
        self.conv_head16 = ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, kernel=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        eighth, sixteenth, thirty_second = self.resnet(x)
        pooled = self.conv_avg(F.adaptive_avg_pool2d(thirty_second, 1))
        deep = self.arm32(thirty_second) + pooled          # broadcast: the nearest upsampling
        deep_up = self.conv_head32(F.interpolate(deep, sixteenth.shape[2:], mode="nearest"))
        middle = self.arm16(sixteenth) + deep_up
        middle_up = self.conv_head16(F.interpolate(middle, eighth.shape[2:], mode="nearest"))
        return eighth, middle_up, deep_up


class FeatureFusion(nn.Module):
    """Spatial and context features joined, then re-weighted per channel (plus a shortcut)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.convblk = ConvBNReLU(cin, cout, kernel=1)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feature = self.convblk(torch.cat([spatial, context], dim=1))
        squeezed = F.relu(self.conv1(F.adaptive_avg_pool2d(feature, 1)))
        return feature * torch.sigmoid(self.conv2(squeezed)) + feature


class OutputHead(nn.Module):
    def __init__(self, cin: int, mid: int, classes: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(cin, mid)
        self.conv_out = nn.Conv2d(mid, classes, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    def __init__(self, classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.cp = ContextPath()
        self.ffm = FeatureFusion(256, 256)
        self.conv_out = OutputHead(256, 256, classes)
        # the deep-supervision heads of training: in the weights, not used to parse
        self.conv_out16 = OutputHead(128, 64, classes)
        self.conv_out32 = OutputHead(128, 64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial, context, _ = self.cp(x)
        scores = self.conv_out(self.ffm(spatial, context))
        return F.interpolate(scores, x.shape[2:], mode="bilinear", align_corners=True)


def load_bisenet(path: Path) -> BiSeNet:
    """The network with the weights of `path` (a plain state_dict, read without unpickling
    anything but tensors), in eval mode. ValueError when the file is not such weights."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # torch raises many kinds for a file it cannot read safely
        raise ValueError(f"{path} is not a BiSeNet state_dict: {exc}") from exc
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state_dict")
    net = BiSeNet()
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path} does not fit face-parsing BiSeNet: {exc}") from exc
    return net.eval()
