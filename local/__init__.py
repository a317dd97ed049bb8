"""Local run, rehearsal and emulator tooling (never shipped): python -m local.rehearsal, python -m local.ministack."""
