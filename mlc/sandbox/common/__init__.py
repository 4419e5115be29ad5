"""Pieces every emulator shares: the sandbox clock, request counters, fault injection, the
`/_sandbox/` control routes and the loopback server harness."""
