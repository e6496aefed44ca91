"""Lab scenarios: named sets of faults, as YAML files beside this module.

A scenario only names faults; each fault is a real difference in the cluster the lab builds (see
``manifests_dagster``), never a flag a probe could read. Unknown fault names are rejected so a typo cannot
silently produce a healthy lab.
"""

from __future__ import annotations

from importlib import resources

from pydantic import BaseModel, ConfigDict, field_validator

from floe_agents.config.loading import ConfigError, validate_model

__all__ = ["FAULTS", "STATES", "Scenario", "load_scenario", "scenario_names"]

FAULTS = frozenset(
    {
        "missing-secret",
        "unmigrated-schema",
        "s3-endpoint-mismatch",
        "s3-port-mismatch",
        "sts-credential-vending",
        "missing-warehouse",
        "missing-namespace",
        "missing-raw-tables",
        "no-telemetry",
    }
)

# Observable states a scenario leaves on the servers (its faults and their consequences).
STATES = frozenset(
    {
        "secret-missing",
        "schema-unmigrated",
        "storage-endpoint-unreachable",
        "credential-vending-broken",
        "warehouse-missing",
        "namespace-missing",
        "raw-tables-missing",
        "no-telemetry",
    }
)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    faults: frozenset[str] = frozenset()
    expect: frozenset[str] = frozenset()
    root_causes: tuple[str, ...] = ()

    @field_validator("expect")
    @classmethod
    def _known_states(cls, states: frozenset[str]) -> frozenset[str]:
        unknown = sorted(states - STATES)
        if unknown:
            msg = f"unknown state(s) {', '.join(unknown)} (known: {', '.join(sorted(STATES))})"
            raise ValueError(msg)
        return states

    @field_validator("faults")
    @classmethod
    def _known(cls, faults: frozenset[str]) -> frozenset[str]:
        unknown = sorted(faults - FAULTS)
        if unknown:
            msg = f"unknown fault(s) {', '.join(unknown)} (known: {', '.join(sorted(FAULTS))})"
            raise ValueError(msg)
        return faults


def _folder() -> resources.abc.Traversable:
    return resources.files(__package__) / "scenarios"


def scenario_names() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in _folder().iterdir() if p.name.endswith(".yaml"))


def load_scenario(name: str) -> Scenario:
    import yaml  # noqa: PLC0415

    item = _folder() / f"{name}.yaml"
    if not item.is_file():
        raise ConfigError("--scenario", f"unknown scenario {name!r} (known: {', '.join(scenario_names())})")
    scenario = validate_model(Scenario, yaml.safe_load(item.read_text(encoding="utf-8")), f"scenario {name}")
    if scenario.name != name:
        raise ConfigError(f"scenario {name}", f"name {scenario.name!r} does not match its file", field="name")
    return scenario
