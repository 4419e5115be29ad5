"""The Epicor Kinetic REST v2 protocol client: no actor logic, only what Epicor's API needs.

One concept a module (facts and sources in ``/work/shared/reference/epicor.md``):

- :mod:`~mlc.epicor.auth` — API key plus Basic, ``TokenResource.svc`` or IdP bearer tokens
  (token sources for the TokenKeeper);
- :mod:`~mlc.epicor.transport` — URLs, headers, Epicor error bodies as exceptions
  (:mod:`~mlc.epicor.errors`);
- :mod:`~mlc.epicor.client` — :class:`~mlc.epicor.client.EpicorClient`: entity sets, BAQs, method
  calls, entity writes;
- :mod:`~mlc.epicor.query` — OData literals, filters, keys; :mod:`~mlc.epicor.paging` — offset and
  keyset pages with their guards; :mod:`~mlc.epicor.delta` — modified markers;
- :mod:`~mlc.epicor.rows`, :mod:`~mlc.epicor.entities`, :mod:`~mlc.epicor.baq` — what is read;
- :mod:`~mlc.epicor.journals`, :mod:`~mlc.epicor.budgets`, :mod:`~mlc.epicor.lookups` — posting and
  the reads that make posting safe to retry;
- :mod:`~mlc.epicor.connect` — from ``[connections.epicor.<name>]`` to those pieces.
"""
