"""Face-swap models by name: `build_model(make_config("original", {"lowmem": True}))`.

Importing this package registers every model (the imports below); registry.py holds the API.
"""
from pipeline.train.models import (dfaker, dfl_h128, dfl_sae, dlight, iae, lightweight, original,
                                   phaze_a, realface, unbalanced, villain)
from pipeline.train.models.registry import (
    SIDES, ModelConfig, ModelOptionError, ModelOutput, SwapModel, build_model,
    config_class, config_from_dict, config_to_dict, describe_options, make_config, model_names,
    register_model)

__all__ = [
    "SIDES", "ModelConfig", "ModelOptionError", "ModelOutput", "SwapModel",
    "build_model", "config_class", "config_from_dict", "config_to_dict", "describe_options",
    "dfaker", "dfl_h128", "dfl_sae", "dlight", "iae", "lightweight", "make_config",
    "model_names", "original", "phaze_a", "realface", "register_model", "unbalanced", "villain",
]
