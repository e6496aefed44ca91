"""Where a report goes: stdout, a file, a ConfigMap, an S3 object — one module per sink.

Why a package of small sinks rather than one writer: floe-agents runs on a laptop (stdout, a file) and as a
Kubernetes CronJob with a read-only root file system, where a report must land somewhere that outlives the pod (a
ConfigMap keeping the last runs, an S3 object). Every sink takes the same rendered report; one that fails becomes a
``sink.failed`` finding in the report the others write (:mod:`floe_agents.sinks.deliver`).

This package's ``__init__`` imports nothing: :mod:`floe_agents.sinks.spec` is read while the command line is
parsed, and a command's ``--help`` must not load the sinks' client libraries.
"""
