"""The operating surface: ``/livez``, ``/readyz``, ``/metrics``, ``/status``, the pid file, the
service calendar and ``mlc check``'s fit checks. Nothing here imports ``actors``: the service
(``actors/service.py``) hands these modules what they read."""
