"""An exported file run by onnxruntime against the torch model it was made from."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pipeline.model_export.graphs import INTERFACES, graph, graph_input
from pipeline.train.models.registry import SwapModel

TOLERANCE = 1e-3   # largest difference allowed between the two, on values in [0, 1]


def onnxruntime_module() -> Any | None:
    """onnxruntime, or None where it is not installed (the `export` extra)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime


def max_difference(model: SwapModel, fmt: str, side: str, exported: bytes,
                   faces: torch.Tensor) -> float:
    """The largest absolute difference, over every output, between onnxruntime running
    `exported` and the torch graph it was traced from, on `faces` (N x 3 x S x S, RGB, in
    [0, 1]). Needs onnxruntime."""
    runtime = onnxruntime_module()
    if runtime is None:
        raise RuntimeError("onnxruntime is not installed")
    options = runtime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = runtime.InferenceSession(exported, options, providers=["CPUExecutionProvider"])
    inputs = graph_input(faces.float(), fmt)
    with torch.no_grad():
        expected = graph(model, fmt, side)(inputs)
    got = session.run(list(INTERFACES[fmt].outputs), {INTERFACES[fmt].input: inputs.numpy()})
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected))
