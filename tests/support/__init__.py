"""Test helpers, one module per concern; fixtures live in the conftests that hand them out.

``net`` (ports, listeners, black holes, a misbehaving HTTP server), ``probes`` (calling a probe as the runner
does), ``lab`` (a running lab started with the real CLI), ``lab_states`` (its faults, checked on its servers),
``polaris`` (the catalog stand-in on moto), ``processes`` (real server processes and the proof they are gone),
``kubelet`` (an API server, a kubelet and tiny real launchers), ``venv`` (throw-away virtualenvs to install into).
"""
