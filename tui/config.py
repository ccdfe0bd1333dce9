"""The user's TUI settings: a TOML file, `$SWAPDECK_CONFIG` or ~/.config/swapdeck/config.toml.

```toml
[keys]
"dashboard.add_media" = "ctrl+a"
app.quit = "ctrl+x"          # unquoted dotted keys mean the same

[faces]
thumbnails = "halfcell"      # auto, kitty, sixel, halfcell or unicode
```
A missing file means defaults. A broken one never stops the TUI: each problem becomes a line
in `Config.problems`, which the app shows as a notification.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tui.thumbs import RENDERERS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

CONFIG_ENV = "SWAPDECK_CONFIG"


@dataclass(frozen=True)
class Config:
    path: Path
    keys: dict[str, object] = field(default_factory=dict)
    thumbnails: str = "auto"
    problems: tuple[str, ...] = ()


def config_path() -> Path:
    if explicit := os.environ.get(CONFIG_ENV):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "swapdeck" / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read the config file; never raises for a missing or malformed one."""
    named = path is not None or CONFIG_ENV in os.environ
    path = config_path() if path is None else path
    if not path.is_file():
        if named:
            return Config(path, problems=(f"{path}: no such config file",))
        return Config(path)
    if tomllib is None:
        return Config(path, problems=(f"{path} ignored: reading it needs Python 3.11 or newer",))
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return Config(path, problems=(f"{path}: cannot read it: {exc}",))
    except tomllib.TOMLDecodeError as exc:
        return Config(path, problems=(f"{path}: not valid TOML: {exc}",))
    keys = document.get("keys", {})
    if not isinstance(keys, dict):
        return Config(path, problems=(f"{path}: [keys] must be a table of id = \"key\" lines",))
    faces = document.get("faces", {})
    thumbnails = faces.get("thumbnails", "auto") if isinstance(faces, dict) else "auto"
    if thumbnails not in RENDERERS:
        return Config(path, keys=_flatten(keys), problems=(
            f"{path}: [faces] thumbnails must be one of {', '.join(RENDERERS)}, "
            f"not {thumbnails!r}",))
    return Config(path, keys=_flatten(keys), thumbnails=thumbnails)


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, object]:
    """TOML reads an unquoted `app.quit = "x"` as {"app": {"quit": "x"}}: join it back."""
    flat: dict[str, object] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat
