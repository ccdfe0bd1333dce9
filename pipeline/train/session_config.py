"""A session's frozen config: the model and its options, the cut of the faces, the losses and
the optimizer. None of it may change once training has started, because the weights (and the
optimizer's saved state) depend on all of it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.train.data_settings import DataSettings
from pipeline.train.losses import LossSettings
from pipeline.train.models.registry import ModelConfig, config_to_dict, make_config
from pipeline.train.optimizers import OptimizerSettings
from store.requests.options import known_names


@dataclass(frozen=True)
class SessionConfig:
    model: ModelConfig
    model_name: str
    data: DataSettings = field(default_factory=DataSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    seed: int = 0  # of the first weights and of the random generators
    # the encoder weights the first run starts from (pipeline.train.transfer), if any
    load_weights: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        config = {"model": self.model_name, "model_options": config_to_dict(self.model),
                  "data": self.data.to_dict(), "loss": asdict(self.loss),
                  "optimizer": self.optimizer.to_dict(), "seed": self.seed}
        if self.load_weights is not None:
            config["load_weights"] = self.load_weights
        return config

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionConfig:
        return cls(make_config(data["model"], data.get("model_options", {})), data["model"],
                   DataSettings.from_dict(data.get("data", {})),
                   LossSettings(**known_names(LossSettings, data.get("loss", {}), "loss setting")),
                   OptimizerSettings.from_dict(data.get("optimizer", {})),
                   int(data.get("seed", 0)), data.get("load_weights"))
