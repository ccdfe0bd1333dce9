"""Every model of the zoo exported as ONNX and as DeepFaceLive's `.dfm`, then run by
onnxruntime against the torch model on real faces: whether it exported (and why not), the
largest difference over every output, the file's size, and onnxruntime's time per face
against torch's on the same faces (the baseline: torch in eval mode, float32, this CPU).

Each build is a model of store/requests/catalogue.json at small sizes with a learned mask
and seeded weights (an export traces the graph: training changes the numbers, not the
operations), plus the variants that change which operations run (dfl-sae's liae and
multiscale decoder, Phaze-A's encoders, bottlenecks, norms and upscalers, reflect padding).
Faces: the face chips of ../shared/testdata/identities/bbt (real faces, aligned by dlib),
resized to each model's input; the astronaut's face when that folder is missing. `spread`
is the smallest standard deviation of the torch outputs: near 0, the seeded weights
saturate an output, and its difference says little.

    .venv/bin/python benchmarks/model_export.py [--models original,dfl-sae]
        [--formats onnx,dfm] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage.data import astronaut

from pipeline.model_export.check import TOLERANCE, max_difference, onnxruntime_module
from pipeline.model_export.graphs import FORMATS, INTERFACES, export_graph, graph, graph_input
from pipeline.train.models import build_model, make_config
from store.requests.catalogue import load

BBT = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "identities" / "bbt"
PHAZE_SMALL = {"output_size": 64, "enc_scaling": 3, "fs_original_depth": 2,
               "fs_original_min_filters": 16, "fs_original_max_filters": 256,
               "bottleneck_size": 128, "fc_min_filters": 128, "fc_max_filters": 128,
               "fc_dimensions": 2, "fc_upsample_filters": 128, "fc_gblock_depth": 2,
               "fc_gblock_min_nodes": 128, "fc_gblock_max_nodes": 128,
               "dec_max_filters": 256, "dec_min_filters": 16, "dec_res_blocks": 0}
SMALL = {
    "original": [{"lowmem": True}, {"lowmem": True, "reflect_padding": True,
                                    "icnr_init": True}],
    "dfl-sae": [{"input_size": 64, "output_size": 64, "encoder_dims": 21, "decoder_dims": 10},
                {"input_size": 64, "output_size": 64, "encoder_dims": 21, "decoder_dims": 10,
                 "architecture": "liae", "multiscale_decoder": True}],
    "dfaker": [{}], "dfl-h128": [{"lowmem": True}], "iae": [{}], "lightweight": [{}],
    "dlight": [{"output_size": 128, "details": "fast", "features": "lowmem"}],
    "realface": [{"input_size": 64, "output_size": 64, "dense_nodes": 768}],
    "unbalanced": [{"input_size": 64, "output_size": 64, "lowmem": True}],
    "villain": [{"lowmem": True}],
    "phaze-a": [PHAZE_SMALL] + [{**PHAZE_SMALL, **extra} for extra in (
        {"enc_architecture": "mobilenet_v2", "mobilenet_width": 0.5},
        {"enc_architecture": "resnet50", "enc_scaling": 16},
        {"bottleneck_type": "average_pooling", "bottleneck_norm": "instance"},
        {"bottleneck_type": "max_pooling", "bottleneck_norm": "layer", "dec_norm": "batch"},
        {"bottleneck_type": "flatten", "fc_depth": 0, "bottleneck_norm": "rms",
         "fs_original_depth": 4},
        {"dec_upscale_method": "upscale_hybrid", "fc_upsampler": "subpixel"},
        {"dec_upscale_method": "upscale_dny", "shared_fc": "half"},
        {"dec_upscale_method": "resize_images", "split_decoders": True})],
}


def builds(names: list[str]) -> list[tuple[str, dict[str, object]]]:
    """Each model's small builds, with a learned mask."""
    return [(name, {**options, "learn_mask": True}) for name in names
            for options in SMALL.get(name, [{}])]


def faces(size: int) -> torch.Tensor:
    """Real faces at `size` px (N x 3 x S x S, RGB, in [0, 1])."""
    paths = sorted(BBT.glob("*/*.png"))[::5]
    images = ([cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in paths]
              or [astronaut()[20:210, 160:350]])
    resized = [cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) for image in images]
    return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2).float().div(255)


def _per_face(run: Callable[[], object], count: int, repeats: int = 2) -> float:
    """Milliseconds per face of `run()` on `count` faces, the median of `repeats`."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000 / count


def measure(name: str, options: dict[str, object], fmt: str) -> dict[str, object]:
    """One build exported as `fmt`, checked and timed."""
    row: dict[str, object] = {"model": name, "options": options, "format": fmt}
    torch.manual_seed(0)
    model = build_model(make_config(name, options)).eval()
    try:
        start = time.perf_counter()
        data = export_graph(model, fmt, "b", {"model": name})
        export_s = time.perf_counter() - start
    except Exception as exc:   # the table says why a build could not be exported
        return {**row, "result": f"not exported: {type(exc).__name__}: {exc}"[:200]}
    batch = faces(model.config.input_size)
    difference = max_difference(model, fmt, "b", data, batch)
    session = onnxruntime_module().InferenceSession(data, providers=["CPUExecutionProvider"])
    given, module = graph_input(batch, fmt), graph(model, fmt, "b")
    feed = {INTERFACES[fmt].input: given.numpy()}
    with torch.no_grad():
        torch_ms = _per_face(lambda: module(given), len(batch))
        spread = float(torch.stack([o.float().std() for o in module(given)]).min())
    onnx_ms = _per_face(lambda: session.run(None, feed), len(batch))
    return {**row, "result": "exported" if difference <= TOLERANCE else "DIFFERS",
            "max_difference": difference, "megabytes": round(len(data) / 2**20, 1),
            "export_s": round(export_s, 1), "faces": len(batch),
            "torch_ms": round(torch_ms, 2), "onnxruntime_ms": round(onnx_ms, 2),
            "speedup": round(torch_ms / onnx_ms, 2), "output_spread": spread}


def _label(row: dict[str, object]) -> str:
    shown = {k: v for k, v in row["options"].items() if k not in PHAZE_SMALL and k != "learn_mask"}
    return f"{row['model']} " + ",".join(f"{k}={v}" for k, v in shown.items())


def print_table(rows: list[dict[str, object]]) -> None:
    print(f"\n{'build':<58} {'fmt':<4} {'result':<10} {'max diff':>9} {'spread':>7} "
          f"{'MiB':>6} {'torch ms':>8} {'ort ms':>7} {'ratio':>6}")
    for row in rows:
        if "max_difference" not in row:
            print(f"{_label(row)[:58]:<58} {row['format']:<4} {row['result']}")
            continue
        print(f"{_label(row)[:58]:<58} {row['format']:<4} {row['result']:<10} "
              f"{row['max_difference']:>9.1e} {row['output_spread']:>7.1e} "
              f"{row['megabytes']:>6} {row['torch_ms']:>8} "
              f"{row['onnxruntime_ms']:>7} {row['speedup']:>6}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated models (default: the catalogue's)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="onnx, dfm or both")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    if onnxruntime_module() is None:
        parser.error("onnxruntime is not installed: pip install 'swapdeck[export]'")
    names = args.models.split(",") if args.models else sorted(load().models)
    print(f"faces: {'bbt face chips' if BBT.is_dir() else 'the astronaut'}; torch threads "
          f"{torch.get_num_threads()}; tolerance {TOLERANCE:g}")
    rows = []
    for name, options in builds(names):
        for fmt in args.formats.split(","):
            rows.append(measure(name, options, fmt))
            print(json.dumps(rows[-1]), flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
