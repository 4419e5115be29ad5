"""Flow definitions: what each flow kind reads, how a record is keyed, mapped and written.

Pure code, no I/O but local files: options and columns (:mod:`.options`), period names
(:mod:`.periods`), keys, hashes and amounts (:mod:`.records`), summing rows into cells on disk
(:mod:`.aggregate`), mapping and quarantine (:mod:`.mapping`), the upload spool (:mod:`.spool`),
and one module per inbound kind (:mod:`.coa_align`, :mod:`.gl_actuals`, :mod:`.ap_spend`). The
actors in ``actors/`` drive them against the systems.
"""
