"""What every file upload is refused for at once: being, as a whole, one JSON value that is not text (an API client
that sent a JSON number, null or object instead of the file). Anything else is a file whose rows are checked one by one
when it is imported, each refused row listed with its reason."""

from __future__ import annotations

import json
from pathlib import Path

PEEK = 65536  # larger uploads are files, not a stray JSON value
KINDS = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


def json_instead_of_file(path: Path, rows_may_be_objects: bool = False) -> str | None:
    """Why the upload is a JSON value rather than a file (None: it is a file); a JSON Lines file of one object is a
    file when `rows_may_be_objects`."""
    if path.stat().st_size > PEEK:
        return None
    try:
        value = json.loads(path.read_bytes())
    except ValueError:
        return None
    if isinstance(value, str) or (rows_may_be_objects and isinstance(value, dict)):
        return None
    return f"the upload is a JSON {'null' if value is None else KINDS[type(value)]}, not a file"
