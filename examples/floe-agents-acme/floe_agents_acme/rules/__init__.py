"""The plugin's root-cause rules: every ``*.yaml`` file here, named by the ``floe_agents.rules`` entry point.

A package rather than a path, so the rules travel inside the wheel and load the same from a clone or from
site-packages; the codes each rule names are checked against the declared ones when floe-agents loads them."""
