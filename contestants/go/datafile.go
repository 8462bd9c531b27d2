// datafile.go: the io=file data file, opened with O_DIRECT and checked at
// start, read with os.File.ReadAt at a uniformly random 4 KiB-aligned offset
// into an aligned buffer. Go's poller cannot wait for a regular file either:
// the read blocks its thread, and the runtime hands the goroutine's P to
// another thread meanwhile (threads after all).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"
)

const (
	align       = 4096 // O_DIRECT alignment of buffer, offset and length
	dataSizeMin = 1024 * 1024
)

type dataFile struct {
	f    *os.File
	size int64
	path string
}

// fsName names the filesystem holding path, where its statfs magic is known.
func fsName(path string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return "unknown"
	}
	names := map[int64]string{
		0x01021994: "tmpfs", 0x858458f6: "ramfs", 0xEF53: "ext4", 0x58465342: "xfs",
		0x9123683E: "btrfs", 0x794c7630: "overlayfs", 0x6969: "nfs", 0x2fc12fc1: "zfs",
		0xF2F52010: "f2fs", 0x65735546: "fuse", 0x01021997: "9p",
	}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("filesystem type 0x%x", st.Type)
}

// alignedBuf is n bytes starting at an align boundary.
func alignedBuf(n int) []byte {
	b := make([]byte, n+align)
	off := (align - int(uintptr(unsafe.Pointer(&b[0]))&(align-1))) & (align - 1)
	return b[off : off+n]
}

func refuseDirect(path, what string, err error) error {
	return fmt.Errorf("--data-file %s: %s with O_DIRECT failed on %s (%v): this filesystem "+
		"cannot read around the page cache, so io=file would measure memory, not the device. "+
		"Put the data file on a disk filesystem (ext4, xfs, btrfs), not on tmpfs, /dev/shm "+
		"or an overlay", path, what, fsName(path), err)
}

// openDataFile opens and checks the data file; the error is the message for
// a refusal to start (exit 2), naming the file, the filesystem and the fix.
func openDataFile(path string) (*dataFile, error) {
	const fix = "create one of at least 1024 KiB of real data on a disk filesystem, e.g. " +
		"`head -c 64M /dev/urandom > FILE`"
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--data-file %s: %v (%s)", path, errors.Unwrap(err), fix)
	}
	if !st.Mode().IsRegular() {
		kind := "not a regular file"
		if st.IsDir() {
			kind = "a directory"
		}
		return nil, fmt.Errorf("--data-file %s: is %s, not a regular file (%s)", path, kind, fix)
	}
	if st.Size() < dataSizeMin {
		return nil, fmt.Errorf("--data-file %s: %d bytes, shorter than the 1024 KiB io=file "+
			"needs (%s)", path, st.Size(), fix)
	}
	// tmpfs has taken O_DIRECT since Linux 6.6, but its reads come from memory.
	if fs := fsName(path); fs == "tmpfs" || fs == "ramfs" {
		return nil, fmt.Errorf("--data-file %s: on %s, a filesystem in memory: its reads never "+
			"wait on a device, with O_DIRECT or without, so io=file would measure memory. Put "+
			"the data file on a disk filesystem (ext4, xfs, btrfs), not on tmpfs or /dev/shm",
			path, fs)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		if errors.Is(err, syscall.EINVAL) {
			return nil, refuseDirect(path, "open", err)
		}
		return nil, fmt.Errorf("--data-file %s: cannot open: %v", path, err)
	}
	// Some filesystems accept the flag at open and refuse the first read.
	if _, err := f.ReadAt(alignedBuf(align), 0); err != nil {
		f.Close()
		if errors.Is(err, syscall.EINVAL) {
			return nil, refuseDirect(path, "a first read", err)
		}
		return nil, fmt.Errorf("--data-file %s: a first read failed: %v", path, err)
	}
	return &dataFile{f: f, size: st.Size(), path: path}, nil
}

// read fills buf at a uniformly random align-multiple offset in [0, size-len].
func (d *dataFile) read(buf []byte, r *rng) error {
	slots := uint64(d.size-int64(len(buf)))/align + 1
	off := int64(r.below(slots)) * align
	if _, err := d.f.ReadAt(buf, off); err != nil {
		if err == io.EOF {
			err = errors.New("short read: the file shrank?")
		}
		return fmt.Errorf("read of %d bytes at offset %d of %s: %v", len(buf), off, d.path, err)
	}
	return nil
}

// rng is xorshift64*: a few bytes per connection (math/rand's source is 5 KB).
type rng struct{ s uint64 }

func newRng(salt uint64) *rng {
	z := uint64(time.Now().UnixNano()) ^ salt*0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return &rng{s: (z ^ z>>31) | 1}
}

func (r *rng) next() uint64 {
	x := r.s
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	r.s = x
	return x * 0x2545F4914F6CDD1D
}

// below is uniform in [0, n), n > 0.
func (r *rng) below(n uint64) uint64 {
	zone := ^uint64(0) - ^uint64(0)%n
	for {
		if v := r.next(); v < zone {
			return v % n
		}
	}
}
