"""raw/ is confined to itself: which files under it may be read. Defined once, for articles and
source folders alike."""
from __future__ import annotations

import os
import stat
from pathlib import Path


def refusal(path: Path, root: Path) -> str | None:
    """Why the file at `path` must not be read, or None: a symbolic link is followed only to a
    regular file inside `root` (the resolved raw folder); links leaving it, dangling links, link
    loops and special files (FIFOs, devices) are refused."""
    try:
        mode = path.lstat().st_mode
    except OSError as err:
        return f"unreadable: {err.strerror or err}"
    if stat.S_ISLNK(mode):
        try:
            link = os.readlink(path)
        except OSError:
            link = "?"
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return f"dangling symbolic link (to {link!r}, which does not exist); not read"
        except (RuntimeError, OSError) as err:
            return f"symbolic link loop (to {link!r}): {getattr(err, 'strerror', None) or err}; not read"
        if not target.is_relative_to(root):
            return f"symbolic link leaving the raw folder (to {str(target)!r}); not read"
        mode = target.stat().st_mode
        if not stat.S_ISREG(mode):
            return "symbolic link to something that is not a regular file; not read"
    elif not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device); not read"
    return None
