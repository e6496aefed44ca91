"""Built-in probes, one per file, each registered through the ``floe_agents.probes`` entry-point group.

Probes import only the engine's public probe API (``floe_agents.registry``, ``floe_agents.context``,
``floe_agents.findings``) — never the coordinator, runner, report or CLI (enforced by import-linter).
"""
