package rigor

import (
	"time"

	"wit_component/rigor_scenario_fs"
)

// Dir is a root directory: the scenario's scratch directory or one the
// catalog grants by name. Paths are relative to the root and confined to
// it by the kernel: `..` that climbs out, absolute paths and symlinks
// leading outside are ErrDenied. A scenario holds at most 256 roots open.
type Dir struct {
	d *rigor_scenario_fs.Dir
}

// Scratch opens the scenario's scratch directory (read-write), created on
// first use and removed when the scenario ends.
func Scratch() (*Dir, error) {
	d, err := result(rigor_scenario_fs.DirScratch())
	if err != nil {
		return nil, err
	}
	return &Dir{d}, nil
}

// OpenDir opens the directory the catalog grants under name
// (`grants = { dirs = [{ name = "data", path = "...", mode = "ro" }] }`);
// ErrDenied otherwise.
func OpenDir(name string) (*Dir, error) {
	d, err := result(rigor_scenario_fs.DirOpen(name))
	if err != nil {
		return nil, err
	}
	return &Dir{d}, nil
}

// Close releases the directory descriptor.
func (d *Dir) Close() error {
	if d != nil && d.d != nil {
		d.d.Drop()
		d.d = nil
	}
	return nil
}

// Name is the root's name (`scratch`, `data`).
func (d *Dir) Name() string { return d.d.Name() }

// Writable says whether the root may be written.
func (d *Dir) Writable() bool { return d.d.Writable() }

// Content is what to write: Data(bytes) or Fill(n).
type Content struct{ c rigor_scenario_fs.Content }

// Data is these bytes.
func Data(b []byte) Content {
	if b == nil {
		b = []byte{}
	}
	return Content{rigor_scenario_fs.MakeContentBytes(b)}
}

// Fill is n bytes of a fixed printable pattern (at most 1 GiB), so large
// files need not cross the boundary.
func Fill(n uint64) Content { return Content{rigor_scenario_fs.MakeContentFill(n)} }

// Written is the outcome of a timed write: bytes written and the time of
// its system calls.
type Written struct {
	Bytes   uint64
	Latency time.Duration
}

// WriteOptions are the options of Write, Append and Dump.
type WriteOptions struct {
	// Flush to stable storage before closing.
	Fsync bool
	// Record the latency here when not nil.
	Into *Histogram
}

// Write creates or truncates path and writes data, timed from open to
// close.
func (d *Dir) Write(path string, data Content, o WriteOptions) (Written, error) {
	t, err := result(d.d.Write(path, data.c, o.Fsync, o.Into.into()))
	return Written{t.Bytes, time.Duration(t.LatencyNs)}, err
}

// Append appends to path (created when missing).
func (d *Dir) Append(path string, data Content, o WriteOptions) (Written, error) {
	t, err := result(d.d.Append(path, data.c, o.Fsync, o.Into.into()))
	return Written{t.Bytes, time.Duration(t.LatencyNs)}, err
}

// ReadFile is the outcome of a timed read.
type ReadFile struct {
	Data    []byte
	Latency time.Duration
}

// Read reads the whole file (at most 64 MiB), timed into `into`.
func (d *Dir) Read(path string, into *Histogram) (ReadFile, error) {
	r, err := result(d.d.Read(path, into.into()))
	return ReadFile{nonNil(r.Data), time.Duration(r.LatencyNs)}, err
}

// Fsync flushes path to stable storage and returns the time it took.
func (d *Dir) Fsync(path string, into *Histogram) (time.Duration, error) {
	ns, err := result(d.d.Fsync(path, into.into()))
	return time.Duration(ns), err
}

// Rename renames from to to within this root (to is replaced).
func (d *Dir) Rename(from, to string, into *Histogram) (time.Duration, error) {
	ns, err := result(d.d.Rename(from, to, into.into()))
	return time.Duration(ns), err
}

// Delete deletes a file, a symlink (never its target) or an empty
// directory.
func (d *Dir) Delete(path string, into *Histogram) (time.Duration, error) {
	ns, err := result(d.d.Delete(path, into.into()))
	return time.Duration(ns), err
}

// EntryKind is the kind of a directory entry.
type EntryKind uint8

// Kinds of directory entries.
const (
	EntryFile      EntryKind = EntryKind(rigor_scenario_fs.EntryKind_File)
	EntryDirectory EntryKind = EntryKind(rigor_scenario_fs.EntryKind_Directory)
	EntrySymlink   EntryKind = EntryKind(rigor_scenario_fs.EntryKind_Symlink)
	EntryOther     EntryKind = EntryKind(rigor_scenario_fs.EntryKind_Other)
)

// Entry is one entry of a listing.
type Entry struct {
	Name string
	Kind EntryKind
	// Size in bytes (of the link itself for a symlink).
	Size uint64
}

// Listing is a directory's entries sorted by name; at most 10,000 are
// returned and the rest counted in Omitted.
type Listing struct {
	Entries []Entry
	Omitted uint64
}

// List lists a directory (`.` for the root).
func (d *Dir) List(path string) (Listing, error) {
	l, err := result(d.d.List(path))
	if err != nil {
		return Listing{}, err
	}
	out := Listing{Omitted: l.Omitted}
	for _, e := range l.Entries {
		out.Entries = append(out.Entries, Entry{e.Name, EntryKind(e.Kind), e.Size})
	}
	return out, nil
}

// Mkdir creates a directory and its missing parents.
func (d *Dir) Mkdir(path string) error {
	_, err := result(d.d.Mkdir(path))
	return err
}

// Symlink creates the symlink link with content target. Following it is
// confined like any other path.
func (d *Dir) Symlink(target, link string) error {
	_, err := result(d.d.Symlink(target, link))
	return err
}

// DumpFormat is how Dump renders records.
type DumpFormat uint8

// Dump formats.
const (
	// JSON: an array of objects keyed by column name.
	JSON DumpFormat = DumpFormat(rigor_scenario_fs.DumpFormat_Json)
	// CSV: RFC 4180 with a header line.
	CSV DumpFormat = DumpFormat(rigor_scenario_fs.DumpFormat_Csv)
	// Text: an aligned text table.
	Text DumpFormat = DumpFormat(rigor_scenario_fs.DumpFormat_Text)
)

// Records is a table of text cells: named columns and rows.
type Records struct {
	Columns []string
	Rows    [][]string
}

// Dump renders records in format (untimed) and writes them to path (timed
// like Write).
func (d *Dir) Dump(path string, records Records, format DumpFormat, o WriteOptions) (Written, error) {
	rs := rigor_scenario_fs.RecordSet{Columns: records.Columns, Rows: records.Rows}
	t, err := result(d.d.Dump(path, rs, uint8(format), o.Fsync, o.Into.into()))
	return Written{t.Bytes, time.Duration(t.LatencyNs)}, err
}

// FsyncPolicy says when an I/O load flushes written data; build it with
// FsyncNever (the zero value), FsyncEveryWrite, FsyncEvery or FsyncAtEnd.
type FsyncPolicy struct {
	kind  uint8
	every uint32
}

// Fsync policies of an I/O load.
var (
	FsyncNever      = FsyncPolicy{}
	FsyncEveryWrite = FsyncPolicy{kind: 1}
	FsyncAtEnd      = FsyncPolicy{kind: 3}
)

// FsyncEvery flushes after every n-th write of a worker.
func FsyncEvery(n uint32) FsyncPolicy { return FsyncPolicy{kind: 2, every: n} }

func (p FsyncPolicy) wit() rigor_scenario_fs.FsyncPolicy {
	switch p.kind {
	case 1:
		return rigor_scenario_fs.MakeFsyncPolicyEveryWrite()
	case 2:
		return rigor_scenario_fs.MakeFsyncPolicyEvery(p.every)
	case 3:
		return rigor_scenario_fs.MakeFsyncPolicyAtEnd()
	}
	return rigor_scenario_fs.MakeFsyncPolicyNever()
}

// IOLoad is a concurrent file load, laid out before the clock starts, one
// block read or write per operation (pread/pwrite), buffered.
type IOLoad struct {
	// Metric prefix: `<name>.read`, `<name>.write`, `<name>.fsync`,
	// `<name>.ops-per-s`, ...
	Name string
	// 1..=64 workers, each owning FilesPerWorker (1..=1024) files of
	// FileSize bytes.
	Workers        uint32
	FilesPerWorker uint32
	FileSize       uint64
	// 1 byte..=16 MiB, at most FileSize.
	BlockSize uint64
	// Share of reads, 0..=100.
	ReadPercent uint8
	Fsync       FsyncPolicy
	// Random block offsets instead of sequential ones.
	Random bool
	// Stop after Ops operations in total, or (when 0) after Duration.
	Ops      uint64
	Duration time.Duration
}

// IOLoadReport is what an I/O load measured; latency summaries are in
// nanoseconds.
type IOLoadReport struct {
	Reads, Writes, BytesRead, BytesWritten                uint64
	Elapsed                                               time.Duration
	OpsPerSecond, ReadBytesPerSecond, WriteBytesPerSecond float64
	Read, Write, Fsync                                    Summary
	// Failed operations (each stops its worker) and the first failure.
	Errors     uint64
	FirstError string
}

// RunIOLoad runs an I/O load in this root (in a folder removed afterwards)
// and records its metrics.
func (d *Dir) RunIOLoad(l IOLoad) (IOLoadReport, error) {
	spec := rigor_scenario_fs.IoLoadSpec{
		Name: l.Name, Workers: l.Workers, FilesPerWorker: l.FilesPerWorker, FileSize: l.FileSize,
		BlockSize: l.BlockSize, ReadPercent: l.ReadPercent, Fsync: l.Fsync.wit(), Random: l.Random,
		Stop: rigor_scenario_fs.MakeIoStopOps(l.Ops),
	}
	if l.Ops == 0 && l.Duration > 0 {
		spec.Stop = rigor_scenario_fs.MakeIoStopDurationNs(uint64(l.Duration))
	}
	r, err := result(d.d.RunIoLoad(spec))
	if err != nil {
		return IOLoadReport{}, err
	}
	return IOLoadReport{
		Reads: r.Reads, Writes: r.Writes, BytesRead: r.BytesRead, BytesWritten: r.BytesWritten,
		Elapsed: time.Duration(r.ElapsedNs), OpsPerSecond: r.OpsPerSecond,
		ReadBytesPerSecond: r.ReadBytesPerSecond, WriteBytesPerSecond: r.WriteBytesPerSecond,
		Read: summaryFrom(r.Read), Write: summaryFrom(r.Write), Fsync: summaryFrom(r.Fsync),
		Errors: r.Errors, FirstError: r.FirstError.SomeOr(""),
	}, nil
}
