"""Faithful stand-ins for the Floe platform's observability servers: Jaeger, Marquez and Cube.

None of the three can be installed on a lab machine, yet floe-agents diagnoses a platform by talking to them, so
the lab runs small servers that speak their real wire protocols (OTLP/HTTP, OTLP/gRPC, Jaeger's query JSON, the
OpenLineage/Marquez REST API, Cube's REST API with its JWT auth) and are fed and queried by the real client
libraries in tests. Each one has an app factory, an in-process async context manager and a process entry
(``python -m floe_lab.observability {jaeger,marquez,cube} ...``) that prints ``READY <url>``.

Modules are imported on demand (``floe_lab.observability.jaeger`` etc.) so that using one stand-in
never pulls in another's dependencies (gRPC, PyJWT).
"""
