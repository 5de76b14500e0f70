"""Files through the host: the scenario's scratch directory and directories
the catalog grants, with timed operations (pass `into=` a histogram) and a
native concurrent file load. Paths are relative to their root and confined
to it: `..`, absolute paths and symlinks leading out raise `ProbeError`
`denied`.

    from rigor.fs import Dir, IoLoad

    with Dir.scratch() as d, rigor.Histogram.latency("write.1KB") as h:
        for i in range(100):
            d.write(f"f{i}", b"x" * 1024, fsync=True, into=h)
        report = d.run_io_load(IoLoad("mixed", workers=4, ops=10_000))
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

from wit_world.imports import fs as _fs

from rigor import Histogram, _bytes, _hist, _probe

__all__ = [
    "Dir", "DumpFormat", "Entry", "EntryKind", "IoLoad", "IoLoadReport", "Listing", "ReadResult",
    "Timed",
]

DumpFormat = _fs.DumpFormat
EntryKind = _fs.EntryKind
Entry = _fs.Entry
Listing = _fs.Listing
Timed = _fs.Timed
ReadResult = _fs.ReadResult
IoLoadReport = _fs.IoLoadReport

_FSYNC = {
    "never": _fs.FsyncPolicy_Never,
    "every-write": _fs.FsyncPolicy_EveryWrite,
    "at-end": _fs.FsyncPolicy_AtEnd,
}


def _format(format: Union[str, DumpFormat]) -> DumpFormat:
    if isinstance(format, DumpFormat):
        return format
    try:
        return DumpFormat[str(format).upper()]
    except KeyError:
        raise ValueError(f"dump format `{format}` is not json, csv or text") from None


class IoLoad:
    """A concurrent file load. Each worker owns `files_per_worker` files of
    `file_size` bytes (laid out before the clock starts) and does one block
    read or write per operation. Defaults: 1 worker, 1 file of 1 MiB, 4 KiB
    blocks, 50 % reads, random offsets, no fsync, 1,000 operations in
    total; `duration` (seconds) replaces `ops`. `fsync` is `"never"`,
    `"every-write"`, `"at-end"` or an int n (after every n-th write).
    Metrics: `<name>.read`, `<name>.write`, `<name>.fsync`,
    `<name>.ops-per-s`, `<name>.read-bytes-per-s`, `<name>.write-bytes-per-s`."""

    def __init__(
        self,
        name: str,
        *,
        workers: int = 1,
        files_per_worker: int = 1,
        file_size: int = 1024 * 1024,
        block_size: int = 4096,
        read_percent: int = 50,
        fsync: Union[str, int] = "never",
        random: bool = True,
        ops: int = 1000,
        duration: Optional[float] = None,
    ) -> None:
        self.name = name
        self.workers = workers
        self.files_per_worker = files_per_worker
        self.file_size = file_size
        self.block_size = block_size
        self.read_percent = read_percent
        self.fsync = fsync
        self.random = random
        self.ops = ops
        self.duration = duration

    def spec(self) -> _fs.IoLoadSpec:
        """The contract's `io-load-spec` this load sends."""
        if isinstance(self.fsync, bool) or not isinstance(self.fsync, (int, str)):
            raise ValueError(f"fsync `{self.fsync!r}` is not never, every-write, at-end or an int")
        if isinstance(self.fsync, int):
            fsync = _fs.FsyncPolicy_Every(self.fsync)
        elif self.fsync in _FSYNC:
            fsync = _FSYNC[self.fsync]()
        else:
            raise ValueError(f"fsync `{self.fsync}` is not never, every-write, at-end or an int")
        stop = (
            _fs.IoStop_DurationNs(max(1, int(self.duration * 1e9)))
            if self.duration is not None
            else _fs.IoStop_Ops(int(self.ops))
        )
        return _fs.IoLoadSpec(
            name=self.name,
            workers=int(self.workers),
            files_per_worker=int(self.files_per_worker),
            file_size=int(self.file_size),
            block_size=int(self.block_size),
            read_percent=int(self.read_percent),
            fsync=fsync,
            random=bool(self.random),
            stop=stop,
        )


class Dir:
    """A root directory: the scratch directory or a granted one. A context
    manager: the directory handle is released when the block ends (a
    scenario holds at most 256 at once)."""

    def __init__(self, inner: _fs.Dir) -> None:
        self._inner = inner

    @classmethod
    def scratch(cls) -> "Dir":
        """The scenario's own scratch directory (read-write, removed at the end)."""
        return cls(_probe(_fs.Dir.scratch))

    @classmethod
    def open(cls, name: str) -> "Dir":
        """The directory the catalog grants as `name`; `ProbeError` `denied` otherwise."""
        return cls(_probe(_fs.Dir.open, name))

    def _d(self) -> _fs.Dir:
        if self._inner is None:
            raise ValueError("this directory handle is closed")
        return self._inner

    @property
    def name(self) -> str:
        """The root's name (`scratch`, `data`)."""
        return self._d().name()

    @property
    def writable(self) -> bool:
        return self._d().writable()

    def write(self, path: str, data: Union[str, bytes], *, fsync: bool = False,
              into: Optional[Histogram] = None) -> Timed:
        """Creates or truncates `path` with `data` (flushed first with
        `fsync`); timed from open to close (`.latency_ns`, `.bytes`)."""
        return _probe(self._d().write, path, _fs.Content_Bytes(_bytes(data)), fsync, _hist(into))

    def fill(self, path: str, size: int, *, fsync: bool = False, into: Optional[Histogram] = None) -> Timed:
        """Writes `size` bytes of a fixed pattern (at most 1 GiB) without
        sending them over the boundary."""
        return _probe(self._d().write, path, _fs.Content_Fill(int(size)), fsync, _hist(into))

    def append(self, path: str, data: Union[str, bytes], *, fsync: bool = False,
               into: Optional[Histogram] = None) -> Timed:
        """Appends to `path` (created when missing)."""
        return _probe(self._d().append, path, _fs.Content_Bytes(_bytes(data)), fsync, _hist(into))

    def read(self, path: str, *, into: Optional[Histogram] = None) -> bytes:
        """The whole file (at most 64 MiB)."""
        return _probe(self._d().read, path, _hist(into)).data

    def read_text(self, path: str, *, into: Optional[Histogram] = None) -> str:
        """The whole file as UTF-8 (invalid bytes replaced)."""
        return self.read(path, into=into).decode(errors="replace")

    def fsync(self, path: str, *, into: Optional[Histogram] = None) -> int:
        """Flushes `path` to stable storage; returns the time in ns."""
        return _probe(self._d().fsync, path, _hist(into))

    def rename(self, src: str, dst: str, *, into: Optional[Histogram] = None) -> int:
        """Renames `src` to `dst` within this root (`dst` is replaced); ns."""
        return _probe(self._d().rename, src, dst, _hist(into))

    def delete(self, path: str, *, into: Optional[Histogram] = None) -> int:
        """Deletes a file, a symlink (never its target) or an empty directory; ns."""
        return _probe(self._d().delete, path, _hist(into))

    def list(self, path: str = ".") -> Listing:
        """A listing sorted by name (`.entries`, each with `name`, `kind`,
        `size`; at most 10,000, the rest counted in `.omitted`)."""
        return _probe(self._d().list, path)

    def mkdir(self, path: str) -> None:
        """Creates a directory and its missing parents."""
        _probe(self._d().mkdir, path)

    def symlink(self, target: str, link: str) -> None:
        """Creates the symlink `link` pointing at `target` (following it is
        confined like any other path)."""
        _probe(self._d().symlink, target, link)

    def dump(self, path: str, columns: Sequence[str], rows: Sequence[Sequence[object]],
             format: Union[str, DumpFormat] = "json", *, fsync: bool = False,
             into: Optional[Histogram] = None) -> Timed:
        """Writes a table as `json` (an array of objects), `csv` (RFC 4180
        with a header) or `text` (aligned); cells are turned into text. The
        rendering is untimed, the write timed like `write`."""
        records = _fs.RecordSet([str(c) for c in columns], [[str(v) for v in row] for row in rows])
        return _probe(self._d().dump, path, records, _format(format), fsync, _hist(into))

    def run_io_load(self, load: Union[IoLoad, str], **options) -> IoLoadReport:
        """Runs a concurrent file load natively in this root (in a folder
        removed afterwards) and records its metrics: `run_io_load(IoLoad(...))`
        or `run_io_load("name", workers=4, ...)`."""
        if not isinstance(load, IoLoad):
            load = IoLoad(load, **options)
        return _probe(self._d().run_io_load, load.spec())

    def close(self) -> None:
        """Releases the directory handle; idempotent."""
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.__exit__(None, None, None)

    def __enter__(self) -> "Dir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
