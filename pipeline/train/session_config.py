"""A session's frozen config: the model and its options, the cut of the faces and the losses.
None of it may change once training has started, because the weights depend on all of it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.train.data_settings import DataSettings
from pipeline.train.losses import LossSettings
from pipeline.train.models.registry import ModelConfig, config_to_dict, make_config
from pipeline.train.settings_dict import known_names


@dataclass(frozen=True)
class SessionConfig:
    model: ModelConfig
    model_name: str
    data: DataSettings = field(default_factory=DataSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    seed: int = 0  # of the first weights and of the random generators

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model_name, "model_options": config_to_dict(self.model),
                "data": self.data.to_dict(), "loss": asdict(self.loss), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionConfig:
        return cls(make_config(data["model"], data.get("model_options", {})), data["model"],
                   DataSettings.from_dict(data.get("data", {})),
                   LossSettings(**known_names(LossSettings, data.get("loss", {}), "loss setting")),
                   int(data.get("seed", 0)))
