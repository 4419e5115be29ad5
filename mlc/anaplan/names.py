"""Finding one object by its name, with an error that helps when it is not there.

Configuration names workspaces, models, imports and exports by name, as people see them; ids are
resolved at run time, so a model copied to a new id keeps working. Names are matched exactly
(Anaplan shows them case-sensitively); a near miss is suggested, and two objects with the same
name are an error rather than a guess.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import TypeVar

from mlc.anaplan.errors import AnaplanNotFound, AnaplanRequestError

T = TypeVar("T")


def find_by_name(
    items: Iterable[T],
    name: str,
    name_of: Callable[[T], str],
    id_of: Callable[[T], str],
    kind: str,
    where: str,
) -> T:
    """The one item called ``name``.

    :param kind: what is looked for, for the message (``"import"``).
    :param where: where it was looked for (``"anaplan.fpa model 'Operating Plan'"``).
    :raises AnaplanNotFound: none is called ``name``.
    :raises AnaplanRequestError: more than one is.
    """
    candidates = list(items)
    matches = [item for item in candidates if name_of(item) == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        found = ", ".join(id_of(item) for item in matches)
        raise AnaplanRequestError(f"{where}: {len(matches)} {kind}s are named {name!r} ({found})")
    names = [name_of(item) for item in candidates]
    hint = ""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if close:
        hint = "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    elif names and len(names) <= 10:
        hint = "; there are " + ", ".join(repr(n) for n in names)
    raise AnaplanNotFound(f"{where}: no {kind} named {name!r}{hint}")
