"""floe-agents: an event-driven agent swarm that diagnoses a Floe data platform."""

__version__ = "0.1.0"
