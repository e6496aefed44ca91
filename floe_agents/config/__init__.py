"""Configuration the tool reads: Floe's own platform.yaml and a floe-agents targets file.

Both load through :func:`load_yaml_model`, which turns any problem into one :class:`ConfigError` naming the file,
the field and what is wrong, so the CLI can print a single clear line instead of a traceback.
"""

from floe_agents.config.loading import ConfigError, load_yaml_model, validate_model
from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import (
    ComponentTarget,
    EndpointTarget,
    KubernetesTarget,
    Targets,
    VantageSpec,
    default_targets,
    load_targets,
)

__all__ = [
    "ComponentTarget",
    "ConfigError",
    "EndpointTarget",
    "KubernetesTarget",
    "PlatformConfig",
    "Targets",
    "VantageSpec",
    "default_targets",
    "load_targets",
    "load_yaml_model",
    "validate_model",
]
