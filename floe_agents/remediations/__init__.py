"""Remediations (step 4): small, verifiable fix actions registered through ``floe_agents.remediations``.

Like probes they never import the coordinator, runner, report or CLI (enforced by import-linter); playbooks in
``playbooks/`` compose them declaratively.
"""
