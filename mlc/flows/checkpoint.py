"""The checkpoint of a value run handed to Anaplan: what a restart needs to finish that run.

Written beside the spool right before the upload, removed when the run ends (either way). If the
process dies in between — the upload or the import task may be in flight — the checkpoint and the
spool stay on disk. The next run of the flow finds them and *resumes* the interrupted run instead
of starting over: the model actor reattaches to the import task persisted for that run (or, when
none was started, loads the same spool), the per-record outcomes go to the interrupted run's
audit, its watermark is committed and the run is closed. Only then does the new run pull, from the
committed watermark, so the data already on its way to Anaplan is not sent a second time.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from mlc.messages import RunTally, SpoolFile

FILE_NAME = "checkpoint.json"


class RunCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    run_id: int
    flow: str
    import_name: str
    #: The watermark the run commits once its load is audited (``None``: leave it).
    watermark: str | None
    spool: SpoolFile
    #: The run's counts before the load (mapped, quarantined, unchanged …).
    tally: RunTally


def write(directory: Path, checkpoint: RunCheckpoint) -> Path:
    path = directory / FILE_NAME
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(msgspec.json.encode(checkpoint))
    temporary.replace(path)
    return path


def find(work_dir: Path, flow: str) -> list[tuple[Path, RunCheckpoint]]:
    """Checkpoints left for ``flow`` under ``work_dir``, oldest run first; unreadable ones are
    skipped (and left for an operator to look at)."""
    found: list[tuple[Path, RunCheckpoint]] = []
    if not work_dir.is_dir():
        return found
    for path in work_dir.glob(f"*/{FILE_NAME}"):
        try:
            checkpoint = msgspec.json.decode(path.read_bytes(), type=RunCheckpoint)
        except (OSError, msgspec.DecodeError):
            continue
        if checkpoint.flow == flow:
            found.append((path.parent, checkpoint))
    return sorted(found, key=lambda item: item[1].run_id)
