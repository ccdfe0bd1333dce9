"""Small files laid out as faceswap and DeepFaceLab write them, made from their documented
layouts by code of our own (not by swapdeck's writers): a faceswap face PNG (an iTXt chunk
`faceswap` holding `str()` of its dict, before the image data), a faceswap `.fsa` (zlib of a
pickle with NumPy landmarks, thumbnails and masks, as version 2.3 wrote it), and a
DeepFaceLab aligned JPG (a pickled dict with NumPy values in an APP15 segment after JFIF)."""
from __future__ import annotations

import pickle
import struct
import zlib

import cv2
import numpy as np

from pipeline.extract.alignment import transform_points, umeyama
from pipeline.interop.faceswap_geometry import aligned_matrix

DFL_SIZE = 256
# A crude template for the DeepFaceLab-like crop: where the eye corners and mouth corners
# land in a 0..1 square (DeepFaceLab's own framing differs; the file records its matrix).
_DFL_POINTS = [36, 45, 48, 54, 30]
_DFL_TEMPLATE = np.array([(0.3, 0.4), (0.7, 0.4), (0.35, 0.72), (0.65, 0.72), (0.5, 0.58)])


def _itxt(keyword: bytes, text: bytes) -> bytes:
    body = b"iTXt" + keyword + b"\0" + b"\0\0" + b"\0" + b"\0" + text
    return struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))


def faceswap_face_png(frame_bgr: np.ndarray, landmarks: np.ndarray, frame_name: str,
                      face_index: int = 0, size: int = 256, is_video: bool = False,
                      custom: np.ndarray | None = None) -> bytes:
    """The head-centred face PNG faceswap's extract writes, with its header."""
    matrix = aligned_matrix(landmarks, size, "head")
    face = cv2.warpAffine(frame_bgr, matrix, (size, size), flags=cv2.INTER_AREA)
    png = cv2.imencode(".png", face)[1].tobytes()
    (x0, y0), (x1, y1) = landmarks.min(axis=0).astype(int), landmarks.max(axis=0).astype(int)
    masks = {} if custom is None else {"custom": _fs_mask(custom, landmarks, in_png=True)}
    stem = frame_name.rsplit(".", 1)[0]
    header = {"alignments": {"x": int(x0), "w": int(x1 - x0), "y": int(y0), "h": int(y1 - y0),
                             "landmarks_xy": np.asarray(landmarks, np.float32).tolist(),
                             "mask": masks, "identity": {}},
              "source": {"alignments_version": 2.3,
                         "original_filename": f"{stem}_{face_index}.png",
                         "face_index": face_index, "source_filename": frame_name,
                         "source_is_video": is_video,
                         "source_frame_dims": tuple(frame_bgr.shape[:2])}}
    split = png.find(b"IDAT") - 4
    return png[:split] + _itxt(b"faceswap", str(header).encode("utf-8")) + png[split:]


def _fs_mask(pixels: np.ndarray, landmarks: np.ndarray, in_png: bool = False) -> dict:
    """A stored mask: its matrix an array in alignments files, a list in PNG headers."""
    matrix = aligned_matrix(landmarks, pixels.shape[0], "face")
    return {"mask": zlib.compress(pixels.astype(np.uint8).tobytes()),
            "affine_matrix": matrix.tolist() if in_png else matrix,
            "interpolator": cv2.INTER_AREA, "stored_size": pixels.shape[0],
            "stored_centering": "face"}


def faceswap_fsa(frames: dict[str, list[np.ndarray]],
                 custom: np.ndarray | None = None) -> bytes:
    """An alignments file of version 2.3: `frames` maps a frame's name to its faces' 68
    points; each face gets a box, a JPEG thumbnail and (`custom`) a painted mask."""
    data = {}
    for name, faces in frames.items():
        entries = []
        for landmarks in faces:
            (x0, y0), (x1, y1) = landmarks.min(axis=0), landmarks.max(axis=0)
            masks = {} if custom is None else {"custom": _fs_mask(custom, landmarks)}
            entries.append({"x": int(x0), "w": int(x1 - x0), "y": int(y0), "h": int(y1 - y0),
                            "landmarks_xy": np.asarray(landmarks, np.float32), "mask": masks,
                            "identity": {}, "thumb": cv2.imencode(
                                ".jpg", np.zeros((96, 96, 3), np.uint8))[1]})
        data[name] = {"faces": entries, "video_meta": {}}
    return zlib.compress(pickle.dumps({"__meta__": {"version": 2.3}, "__data__": data}))


def dfl_matrix(landmarks: np.ndarray) -> np.ndarray:
    """Frame -> a DeepFaceLab-like aligned image of DFL_SIZE."""
    return umeyama(landmarks[_DFL_POINTS], _DFL_TEMPLATE * DFL_SIZE)


def dfl_aligned_jpg(frame_bgr: np.ndarray, landmarks: np.ndarray, frame_name: str,
                    polygons: list[tuple[int, np.ndarray]] = ()) -> bytes:
    """The aligned JPG DeepFaceLab's extractor writes; `polygons` (type 1 include, 0
    exclude; points in the aligned image) as its XSeg editor saves them."""
    matrix = dfl_matrix(landmarks)
    face = cv2.warpAffine(frame_bgr, matrix, (DFL_SIZE, DFL_SIZE), flags=cv2.INTER_LANCZOS4)
    jpeg = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    (x0, y0), (x1, y1) = landmarks.min(axis=0).astype(int), landmarks.max(axis=0).astype(int)
    info = {"face_type": "whole_face",
            "landmarks": transform_points(matrix, landmarks).tolist(),
            "eyebrows_expand_mod": 1.0, "source_filename": frame_name,
            "source_rect": (int(x0), int(y0), int(x1), int(y1)),
            "source_landmarks": np.asarray(landmarks).tolist(), "image_to_face_mat": matrix,
            "xseg_mask": cv2.imencode(".png", np.zeros((32, 32), np.uint8))[1]}
    if polygons:
        info["seg_ie_polys"] = {"polys": [{"type": kind, "pts": np.float32(points)}
                                          for kind, points in polygons]}
    app15 = pickle.dumps(info, protocol=3)
    app0_end = 4 + struct.unpack(">H", jpeg[4:6])[0]       # SOI, then JFIF's APP0
    return jpeg[:app0_end] + b"\xff\xef" + struct.pack(">H", len(app15) + 2) + app15 \
        + jpeg[app0_end:]
