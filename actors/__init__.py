"""The service's actors: each owns one concern and its state.

``actors.tree`` builds the supervision tree of the inbound path from the configuration.
"""
