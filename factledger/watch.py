"""Notice what changed under raw/: the pure logic behind the Dagster sensor (orchestration/sensors.py).

The *file states* of the raw folder (`FileStates`) map each file's path (relative, POSIX) to its size, mtime and the
SHA-256 of its bytes. Scanning against the previous file states hashes only the files whose size or
mtime moved (or that are new), so a tick over an unchanged folder costs one `stat` per file and no
reads. A file touched but not edited is re-hashed once, found equal, and is not a change.

The file states travel in the sensor's cursor (`encode_cursor`/`decode_cursor`): compact JSON,
zlib-compressed, with a sequence number of detected changes and a digest of the whole state. A run
key is derived from the sequence number and the hashes of what changed (`run_key`), so re-evaluating
the same tick (e.g. after a daemon crash before the cursor was stored) yields the same key and
Dagster does not launch the run twice, while a later change back to an earlier state (A -> B -> A)
still gets a new key.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

CURSOR_VERSION = 1
# Editors' and OSes' droppings: never inputs, never a reason to run.
IGNORED_PREFIXES = (".", "~")
IGNORED_SUFFIXES = ("~", ".swp", ".tmp", ".part")


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    sha256: str


FileStates = dict[str, FileState]


@dataclass(frozen=True)
class Changes:
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(sorted(self.added + self.changed + self.removed))

    def summary(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"


@dataclass
class ScanStats:
    files: int = 0
    hashed: int = 0
    hashed_bytes: int = 0


@dataclass
class WatchState:
    """What the sensor remembers between ticks."""

    files: FileStates = field(default_factory=dict)
    seq: int = 0  # how many changes have been detected (and runs requested) so far

    @property
    def digest(self) -> str:
        return state_digest(self.files)


def _ignored(name: str) -> bool:
    return name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES)


def iter_files(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every regular file under `root` (hidden and temporary files skipped), as (relative POSIX path, stat)."""
    stack = [Path(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if _ignored(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file():
                try:
                    st = entry.stat()
                except FileNotFoundError:  # removed between listing and stat
                    continue
                yield Path(entry.path).relative_to(root).as_posix(), st


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def scan(root: Path, previous: Mapping[str, FileState] | None = None, stats: ScanStats | None = None) -> FileStates:
    """The file states of `root`, hashing only files that are new or whose size/mtime differ from `previous`."""
    root = Path(root)
    previous = previous or {}
    stats = stats if stats is not None else ScanStats()
    current: FileStates = {}
    for rel, st in iter_files(root):
        stats.files += 1
        before = previous.get(rel)
        if before is not None and before.size == st.st_size and before.mtime_ns == st.st_mtime_ns:
            current[rel] = before
            continue
        try:
            sha = sha256_file(root / rel)
        except FileNotFoundError:
            continue
        stats.hashed += 1
        stats.hashed_bytes += st.st_size
        current[rel] = FileState(st.st_size, st.st_mtime_ns, sha)
    return current


def diff(old: Mapping[str, FileState], new: Mapping[str, FileState]) -> Changes:
    """Added, changed (different bytes) and removed paths. A new mtime with the same bytes is no change."""
    added = tuple(sorted(p for p in new if p not in old))
    removed = tuple(sorted(p for p in old if p not in new))
    changed = tuple(sorted(p for p in new if p in old and new[p].sha256 != old[p].sha256))
    return Changes(added, changed, removed)


def state_digest(files: Mapping[str, FileState]) -> str:
    """SHA-256 over the sorted (path, content hash) pairs: equal iff the folders hold the same bytes."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(f"{path}\0{files[path].sha256}\n".encode())
    return digest.hexdigest()


def change_digest(old: Mapping[str, FileState], new: Mapping[str, FileState], changes: Changes) -> str:
    """SHA-256 over what changed: each changed path with its hash before and after ('-' if absent)."""
    digest = hashlib.sha256()
    for path in changes.paths:
        before = old[path].sha256 if path in old else "-"
        after = new[path].sha256 if path in new else "-"
        digest.update(f"{path}\0{before}\0{after}\n".encode())
    return digest.hexdigest()


def run_key(seq: int, old: Mapping[str, FileState], new: Mapping[str, FileState], changes: Changes) -> str:
    """`raw-<seq>-<first 16 hex of the change digest>`: stable for one detected change, unique across changes."""
    return f"raw-{seq:08d}-{change_digest(old, new, changes)[:16]}"


def encode_cursor(state: WatchState) -> str:
    payload = {
        "v": CURSOR_VERSION,
        "seq": state.seq,
        "digest": state.digest,
        "files": [[p, s.size, s.mtime_ns, s.sha256] for p, s in sorted(state.files.items())],
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return "z1:" + base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def decode_cursor(cursor: str | None) -> WatchState:
    """The state stored by `encode_cursor`; an empty state for no cursor. A cursor that does not decode
    (corrupt, or from another version) raises: silently starting over would re-run everything."""
    if not cursor:
        return WatchState()
    if not cursor.startswith("z1:"):
        raise ValueError(f"unrecognised raw-files sensor cursor (starts {cursor[:12]!r})")
    payload = json.loads(zlib.decompress(base64.b64decode(cursor[3:])))
    if payload.get("v") != CURSOR_VERSION:
        raise ValueError(f"raw-files sensor cursor version {payload.get('v')} is not {CURSOR_VERSION}")
    files = {p: FileState(size, mtime, sha) for p, size, mtime, sha in payload["files"]}
    state = WatchState(files=files, seq=int(payload["seq"]))
    if state.digest != payload["digest"]:
        raise ValueError("raw-files sensor cursor digest does not match its file list")
    return state


@dataclass(frozen=True)
class Observation:
    """One look at the folder: the new state, what changed since the last one, and the run key if any."""

    state: WatchState
    changes: Changes
    run_key: str | None
    stats: ScanStats


def observe(root: Path, previous: WatchState) -> Observation:
    stats = ScanStats()
    files = scan(root, previous.files, stats)
    changes = diff(previous.files, files)
    if not changes:
        # Keep refreshed mtimes (touched, same bytes) so they are not re-hashed next time.
        return Observation(WatchState(files, previous.seq), changes, None, stats)
    seq = previous.seq + 1
    key = run_key(seq, previous.files, files, changes)
    return Observation(WatchState(files, seq), changes, key, stats)
