package cache

import (
	"cmp"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The index file lets a big cache open without reading its entries and
// keeps the LRU order across restarts (Chromium's simple cache index).
// Little-endian:
//
//	magic    uint32  "NFCI"
//	version  uint32
//	flags    uint32  diskIndexClean when written by Close
//	count    uint32
//	count records, most recently used first:
//	         hash uint64, size int64, lastUsed int64 (Unix ns)
//	crc      uint32  CRC-32C of everything before it
//
// It is only trusted as-is when it was written by Close (clean) and lists
// exactly the entry files in the directory. Otherwise it is rebuilt from
// the directory, keeping the last-used times it still knows.
const (
	diskIndexName       = "index"
	diskIndexMagic      = 0x4943464e // "NFCI" on disk
	diskIndexVersion    = 1
	diskIndexClean      = 1
	diskIndexHeaderSize = 4 + 4 + 4 + 4
	diskIndexRecordSize = 8 + 8 + 8
)

// diskIndexFlushDelay batches index writes: Store, Doom and Open mark the
// index dirty and it is written at most this often, and at Close. A crash
// loses at most this much LRU history; the entries themselves are found
// again by the rebuild.
const diskIndexFlushDelay = time.Second

var errDiskIndexInvalid = errors.New("cache: invalid index file")

// diskIndexRecord is what the index knows of one entry.
type diskIndexRecord struct {
	hash     uint64
	size     int64 // of the entry file
	lastUsed int64 // Unix nanoseconds, strictly increasing within a run
}

// diskEncodeIndex serializes records (most recently used first).
func diskEncodeIndex(records []*diskIndexRecord, clean bool) []byte {
	buf := make([]byte, 0, diskIndexHeaderSize+len(records)*diskIndexRecordSize+4)
	buf = binary.LittleEndian.AppendUint32(buf, diskIndexMagic)
	buf = binary.LittleEndian.AppendUint32(buf, diskIndexVersion)
	var flags uint32
	if clean {
		flags = diskIndexClean
	}
	buf = binary.LittleEndian.AppendUint32(buf, flags)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(records)))
	for _, r := range records {
		buf = binary.LittleEndian.AppendUint64(buf, r.hash)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.size))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(r.lastUsed))
	}
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, diskCastagnoli))
}

// diskReadIndex reads dir's index file. maxRecords bounds its size, so a
// huge or garbage file is refused before it is read.
func diskReadIndex(dir string, maxRecords int64) (records []*diskIndexRecord, clean bool, err error) {
	f, err := os.Open(filepath.Join(dir, diskIndexName))
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if fi.Size() > diskIndexHeaderSize+maxRecords*diskIndexRecordSize+4 {
		return nil, false, errDiskIndexInvalid
	}
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, false, err
	}
	return diskDecodeIndex(buf)
}

// diskDecodeIndex parses and verifies an index file's bytes.
func diskDecodeIndex(buf []byte) (records []*diskIndexRecord, clean bool, err error) {
	if len(buf) < diskIndexHeaderSize+4 ||
		binary.LittleEndian.Uint32(buf) != diskIndexMagic ||
		binary.LittleEndian.Uint32(buf[4:]) != diskIndexVersion {
		return nil, false, errDiskIndexInvalid
	}
	flags := binary.LittleEndian.Uint32(buf[8:])
	count := uint64(binary.LittleEndian.Uint32(buf[12:]))
	if uint64(len(buf)) != diskIndexHeaderSize+count*diskIndexRecordSize+4 {
		return nil, false, errDiskIndexInvalid
	}
	end := len(buf) - 4
	if crc32.Checksum(buf[:end], diskCastagnoli) != binary.LittleEndian.Uint32(buf[end:]) {
		return nil, false, errDiskIndexInvalid
	}
	records = make([]*diskIndexRecord, count)
	seen := make(map[uint64]bool, count)
	for i := range records {
		b := buf[diskIndexHeaderSize+i*diskIndexRecordSize:]
		r := &diskIndexRecord{
			hash:     binary.LittleEndian.Uint64(b),
			size:     int64(binary.LittleEndian.Uint64(b[8:])),
			lastUsed: int64(binary.LittleEndian.Uint64(b[16:])),
		}
		if r.size < diskEntryOverhead || seen[r.hash] {
			return nil, false, errDiskIndexInvalid
		}
		seen[r.hash] = true
		records[i] = r
	}
	return records, flags&diskIndexClean != 0, nil
}

// diskReconcileIndex returns the records for the entry files present in
// dir (files, by hash). A clean index listing exactly those files is used
// as it is. Otherwise every file is stat'ed for its size, and its last use
// is the later of the index's record (LRU order from before a crash) and
// the file's mtime (entries stored after the index was last written).
func diskReconcileIndex(dir string, files map[uint64]bool, loaded []*diskIndexRecord, clean bool) []*diskIndexRecord {
	if clean && len(loaded) == len(files) && !slices.ContainsFunc(loaded, func(r *diskIndexRecord) bool { return !files[r.hash] }) {
		return loaded
	}
	known := make(map[uint64]*diskIndexRecord, len(loaded))
	for _, r := range loaded {
		known[r.hash] = r
	}
	records := make([]*diskIndexRecord, 0, len(files))
	for hash := range files {
		fi, err := os.Stat(filepath.Join(dir, diskEntryName(hash)))
		if err != nil {
			// Gone since the directory was listed, or unreadable; a
			// later Open will simply miss.
			continue
		}
		r := &diskIndexRecord{hash: hash, size: fi.Size(), lastUsed: fi.ModTime().UnixNano()}
		if k := known[hash]; k != nil && k.lastUsed > r.lastUsed {
			r.lastUsed = k.lastUsed
		}
		records = append(records, r)
	}
	slices.SortFunc(records, func(a, b *diskIndexRecord) int {
		if c := cmp.Compare(b.lastUsed, a.lastUsed); c != 0 {
			return c
		}
		return cmp.Compare(a.hash, b.hash)
	})
	return records
}
