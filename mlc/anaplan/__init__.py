"""The Anaplan protocol client: authentication, discovery, bulk files, tasks, CloudWorks.

Protocol code only, no actor logic (DESIGN.md §2). One module per concept:

* :mod:`.auth` (basic and certificate logins), :mod:`.certificate` (signing), :mod:`.oauth`
  (device grant, rotating refresh tokens): token sources for the TokenKeeper;
* :mod:`.transport` (signed requests, Anaplan's error families from :mod:`.errors`),
  :mod:`.paging`, :mod:`.limiter` (the tenant's shared request budget);
* :mod:`.client` (discovery by name, lists, model status, and the operations of one model),
  :mod:`.files` (chunked gzip upload, chunk downloads), :mod:`.tasks` (run, look-before-retry,
  poll, cancel), :mod:`.polling` (the poll cadence), :mod:`.cloudworks`;
* :mod:`.models` and :mod:`.ids`: the msgspec Structs of responses and the identifiers.

The facts behind each decision are in ``reference/anaplan.md``, cited in the modules' docstrings.
"""
