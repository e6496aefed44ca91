"""Dagster as Floe deploys it, run for real in the lab: an instance on PostgreSQL, the ``floe-demo`` code
location served over gRPC, the webserver and the daemon.

Dagster is installable, so the lab runs the genuine processes instead of imitating their GraphQL; the faults
the seed report found in Floe's Dagster (missing DB password secret, unmigrated schema, assets that emit no
telemetry) are then reproduced by configuring these real processes wrongly, not by scripting answers.
"""
