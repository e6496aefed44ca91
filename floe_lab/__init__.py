"""The lab: a local Floe stack on loopback (real servers where installable, faithful stand-ins elsewhere).

It exists so floe-agents is tested against the things it diagnoses, not against mocks of them, and so users
without a cluster can see what a diagnosis looks like.
"""
