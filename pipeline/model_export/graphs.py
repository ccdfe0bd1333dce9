"""The graphs a model export holds, and the ONNX file made of one.

- `onnx`: the encoder and the decoder of the side swapped to. Input `face`: N x 3 x S x S,
  RGB, float32 in [0, 1] (S the model's input size); outputs `swapped_face` (N x 3 x O x O,
  RGB) and `swapped_mask` (N x 1 x O x O), float32 in [0, 1] (O its output size).
- `dfm`: DeepFaceLive's interface. Input `in_face:0`: N x S x S x 3, BGR, float32 in [0, 1];
  outputs, in this order (DeepFaceLive takes them by position): `out_face_mask:0` (the
  input face's mask, from its own side's decoder), `out_celeb_face:0` (the swapped face,
  BGR) and `out_celeb_face_mask:0` (its mask), all NHWC float32 in [0, 1].
Faces come out clamped to [0, 1], as conversion uses them. A model that learned no mask
gives masks of ones (in DeepFaceLive, choose its landmark mask). The batch axis is free.

Opset 13 and IR version 7: DeepFaceLive ships onnxruntime 1.11 (opsets up to 15, IR up to
8), and DeepFaceLab's own exports use opsets 12 and 13. That is why the graph is traced by
torch's TorchScript exporter: the newer exporter writes opset 18 and later only.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from pipeline.errors import JobError
from pipeline.train.models.registry import ModelOutput, SwapModel

OPSET = 13
IR_VERSION = 7
MAX_BYTES = 2**31 - 1   # protobuf's limit on one message: an ONNX file without external data
FORMATS = ("onnx", "dfm")
OTHER_SIDE = {"a": "b", "b": "a"}


@dataclass(frozen=True)
class Interface:
    """The names, layout and colour order of a format's input and outputs."""
    input: str
    outputs: tuple[str, ...]
    layout: str
    colours: str


INTERFACES = {
    "onnx": Interface("face", ("swapped_face", "swapped_mask"), "NCHW", "RGB"),
    "dfm": Interface("in_face:0", ("out_face_mask:0", "out_celeb_face:0",
                                   "out_celeb_face_mask:0"), "NHWC", "BGR"),
}


def _face_and_mask(output: ModelOutput) -> tuple[Tensor, Tensor]:
    face = output.face.clamp(0, 1)
    if output.mask is None:   # expand_as keeps the batch free; ones_like traces a constant
        return face, face.new_ones(1, 1, 1, 1).expand_as(face[:, :1])
    return face, output.mask.clamp(0, 1)


class SwapGraph(nn.Module):
    """Faces (NCHW, RGB) -> the faces and masks decoded as side `side`."""

    def __init__(self, model: SwapModel, side: str) -> None:
        super().__init__()
        self.model, self.side = model, side

    def forward(self, face: Tensor) -> tuple[Tensor, Tensor]:
        return _face_and_mask(self.model.decode(self.model.encode(face), self.side))


class DfmGraph(nn.Module):
    """DeepFaceLive's model: faces (NHWC, BGR) of the other side -> their own mask, and the
    face and mask decoded as side `side`, NHWC."""

    def __init__(self, model: SwapModel, side: str) -> None:
        super().__init__()
        self.model, self.side = model, side

    def forward(self, in_face: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        code = self.model.encode(in_face.permute(0, 3, 1, 2).flip(1))
        celeb, celeb_mask = _face_and_mask(self.model.decode(code, self.side))
        if self.model.config.learn_mask:
            _, own_mask = _face_and_mask(self.model.decode(code, OTHER_SIDE[self.side]))
        else:
            own_mask = celeb_mask
        return (own_mask.permute(0, 2, 3, 1), celeb.flip(1).permute(0, 2, 3, 1),
                celeb_mask.permute(0, 2, 3, 1))


def graph(model: SwapModel, fmt: str, side: str) -> nn.Module:
    """The module a `fmt` export traces, decoding as `side`, in eval mode."""
    made = SwapGraph(model, side) if fmt == "onnx" else DfmGraph(model, side)
    return made.eval()


def graph_input(faces: Tensor, fmt: str) -> Tensor:
    """Faces as training feeds them (N x 3 x S x S, RGB, in [0, 1]) laid out for `fmt`."""
    return faces if fmt == "onnx" else faces.flip(1).permute(0, 2, 3, 1).contiguous()


def weight_bytes(model: nn.Module) -> int:
    """The size of the weights and buffers an export holds, at most (both decoders)."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def export_graph(model: SwapModel, fmt: str, side: str, metadata: dict[str, str]) -> bytes:
    """The ONNX file of `model`'s `fmt` graph decoding as `side`, with `metadata` in its
    metadata_props; JobError when onnx is missing or the weights cannot fit one file."""
    onnx = _onnx()
    if weight_bytes(model) >= MAX_BYTES:
        raise JobError(f"the model's weights take {weight_bytes(model) / 2**30:.1f} GiB; an "
                       "ONNX file holds at most 2 GiB: train smaller options to export")
    interface, size = INTERFACES[fmt], model.config.input_size
    example = graph_input(torch.rand(1, 3, size, size), fmt)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(graph(model, fmt, side), (example,), buffer, dynamo=False,
                          opset_version=OPSET, input_names=[interface.input],
                          output_names=list(interface.outputs),
                          dynamic_axes={name: {0: "batch"}
                                        for name in (interface.input, *interface.outputs)})
    proto = onnx.load_from_string(buffer.getvalue())
    proto.ir_version = min(proto.ir_version, IR_VERSION)
    proto.producer_name = "swapdeck"
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise JobError("exporting a model needs the onnx package: "
                       "pip install 'swapdeck[export]'") from None
    return onnx
