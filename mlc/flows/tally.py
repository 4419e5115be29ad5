"""The mutable counters of one run, in both directions (frozen into :class:`RunTally`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import msgspec

from mlc.messages import RunTally


@dataclass
class Tally:
    """Records of one run at each step; the fields mean what :class:`RunTally`'s do."""

    read: int = 0
    mapped: int = 0
    quarantined: int = 0
    unchanged: int = 0
    loaded: int = 0
    failed: int = 0
    skipped: int = 0
    #: Cells and journals that changed in Epicor, or would have (dry run).
    changes: int = 0

    def frozen(self) -> RunTally:
        return RunTally(**dataclasses.asdict(self))

    @classmethod
    def resumed(cls, saved: RunTally) -> Tally:
        """The counts of a run saved before it was interrupted."""
        return cls(**msgspec.structs.asdict(saved))

    @property
    def status(self) -> str:
        return "partial" if self.quarantined or self.failed else "succeeded"
