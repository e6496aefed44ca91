"""The ``floe-demo`` code location: a small stand-in for Floe's demo pipeline (bronze reads, silver step)."""
