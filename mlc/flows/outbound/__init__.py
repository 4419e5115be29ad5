"""Outbound flows: approved Anaplan plan values into the Epicor general ledger, exactly once.

``budget-to-gl`` (the kind of both ``flows.budget-to-gl`` and ``flows.forecast-to-gl``) runs an
Anaplan export, parses the downloaded file as a stream (:mod:`.export`), applies the direction
rules (:mod:`.rules`: which versions may flow back, the period window, closed periods), maps
Anaplan members back to Epicor GL accounts (:mod:`.mapping`), sums the values per Epicor budget
cell on disk (:mod:`.cells`) and hands them to the ``EpicorWriter`` actor with a deterministic
posting key each (:mod:`.keys`). Journal postings are planned as deltas against what Epicor
already holds (:mod:`.journal`). :mod:`.run` drives one run through ports the actor tree provides;
:mod:`.replay` re-sends failed and quarantined records of an earlier run.

Pure code, no I/O but local files: Epicor and Anaplan are reached only through the ports.
"""
