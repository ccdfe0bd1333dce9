"""The converter's options as data, for the TUI and the CLI, which may not import torch.

`python -m pipeline.convert.catalogue` writes store/requests/convert_catalogue.json from the settings
dataclasses; a test fails when the file is out of date.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.convert.settings import GROUPS
from pipeline.train.catalogue import options_json
from pipeline.train.settings_dict import describe_fields

CATALOGUE_PATH = Path(__file__).resolve().parents[2] / "store" / "requests" / "convert_catalogue.json"


def build() -> dict[str, Any]:
    return {"schema": 1,
            "groups": [{"name": name, "frozen": False, "help": text,
                        "options": options_json(describe_fields(cls))}
                       for name, cls, text in GROUPS]}


def render() -> str:
    return json.dumps(build(), indent=1) + "\n"


if __name__ == "__main__":
    CATALOGUE_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {CATALOGUE_PATH}")
