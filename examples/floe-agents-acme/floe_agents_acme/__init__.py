"""floe-agents-acme: a sample floe-agents plugin (one probe, one root-cause rule), installed with pip and found
through the ``floe_agents.probes`` and ``floe_agents.rules`` entry points. Importing it registers nothing: the
engine loads what the entry points name."""
