"""``loopkit run`` and ``loopkit exec``: from a memo's steps to a recorded, verifiable run.

The flow, one module each: :mod:`~loopkit.run.plan` decides what runs (steps, predicates, run
root); :mod:`~loopkit.run.flow` mints the run folder and drives the steps through one
:mod:`~loopkit.run.shell` session; :mod:`~loopkit.run.recorder` writes the folder's files
(redacted and path-scrubbed once, on the way out); :mod:`~loopkit.run.record` is the typed
``run.json`` and its verdict; :mod:`~loopkit.run.evidence` says which folders count as
evidence (recorded by loopkit, unchanged since).
"""
