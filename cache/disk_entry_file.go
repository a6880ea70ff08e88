package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
)

// An entry file holds one whole entry, little-endian:
//
//	magic    uint32  "NFCE"
//	version  uint32
//	keyLen   uint64, key
//	infoLen  uint64, info
//	bodyLen  uint64, body
//	crc      uint32  CRC-32C of everything before it
//
// It is named after the first 8 bytes of SHA-256(key) in hex (Chromium's
// simple cache names files after a key hash too) plus diskEntrySuffix. The
// full key is stored so that two keys whose hashes collide are told apart.
const (
	diskEntryMagic   = 0x4543464e // "NFCE" on disk
	diskEntryVersion = 1
	diskEntrySuffix  = ".entry"
	// diskEntryOverhead is the size of an entry file with an empty key,
	// info and body: every field but the three byte strings.
	diskEntryOverhead = 4 + 4 + 8 + 8 + 8 + 4
)

var (
	// errDiskEntryCorrupt marks an entry file that failed verification.
	errDiskEntryCorrupt = errors.New("cache: corrupt entry file")
	// errDiskEntryOtherKey marks a sound entry file that holds another key
	// whose hash collides with the one asked for: a miss, not corruption.
	errDiskEntryOtherKey = errors.New("cache: entry file holds another key")
)

// diskCastagnoli is the CRC-32C table, hardware-accelerated on amd64/arm64.
var diskCastagnoli = crc32.MakeTable(crc32.Castagnoli)

// diskKeyHash is the first 8 bytes of SHA-256(key), big-endian so that its
// %016x form is the hex of those bytes.
func diskKeyHash(key string) uint64 {
	sum := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint64(sum[:8])
}

// diskEntryName is the file name of the entry whose key hashes to hash.
func diskEntryName(hash uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], hash)
	return hex.EncodeToString(b[:]) + diskEntrySuffix
}

// diskParseEntryName returns the hash an entry file name encodes. Only the
// exact form diskEntryName produces is accepted, so foreign files are left
// alone and every hash has one name.
func diskParseEntryName(name string) (uint64, bool) {
	h, ok := strings.CutSuffix(name, diskEntrySuffix)
	if !ok || len(h) != 16 {
		return 0, false
	}
	for _, c := range []byte(h) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, false
		}
	}
	hash, err := strconv.ParseUint(h, 16, 64)
	return hash, err == nil
}

// diskEntryFileSize is the size of the file storing an entry.
func diskEntryFileSize(key string, info, body []byte) int64 {
	return diskEntryOverhead + int64(len(key)) + int64(len(info)) + int64(len(body))
}

// diskWriteEntryTemp writes an entry to a new temp file in dir and returns
// its path; the caller renames it over name. The body is written from the
// caller's slice rather than copied into one buffer, which matters for
// bodies of megabytes.
func diskWriteEntryTemp(dir, name, key string, info, body []byte) (string, error) {
	head := make([]byte, 0, 4+4+8+len(key)+8+len(info)+8)
	head = binary.LittleEndian.AppendUint32(head, diskEntryMagic)
	head = binary.LittleEndian.AppendUint32(head, diskEntryVersion)
	head = binary.LittleEndian.AppendUint64(head, uint64(len(key)))
	head = append(head, key...)
	head = binary.LittleEndian.AppendUint64(head, uint64(len(info)))
	head = append(head, info...)
	head = binary.LittleEndian.AppendUint64(head, uint64(len(body)))
	sum := crc32.Update(crc32.Update(0, diskCastagnoli, head), diskCastagnoli, body)
	tail := binary.LittleEndian.AppendUint32(nil, sum)
	return diskWriteTemp(dir, name, head, body, tail)
}

// diskReadEntry reads the entry file f and verifies it holds key. The file
// is read whole into one buffer whose size is the file's, refused above
// limit, so no length field inside the file decides an allocation. Info
// and Body of the result are slices of that buffer.
func diskReadEntry(f *os.File, key string, limit int64) (*Entry, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < diskEntryOverhead || size > limit {
		return nil, fmt.Errorf("%w: %d bytes", errDiskEntryCorrupt, size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		// The file shrank under us or the disk failed: either way it
		// cannot be trusted.
		return nil, fmt.Errorf("%w: %v", errDiskEntryCorrupt, err)
	}
	return diskDecodeEntry(buf, key)
}

// diskDecodeEntry verifies an entry file's bytes: magic and version, each
// length against the bytes that remain, the checksum, then the key.
func diskDecodeEntry(buf []byte, key string) (*Entry, error) {
	corrupt := func(what string) (*Entry, error) {
		return nil, fmt.Errorf("%w: %s", errDiskEntryCorrupt, what)
	}
	if len(buf) < diskEntryOverhead {
		return corrupt("short file")
	}
	if binary.LittleEndian.Uint32(buf) != diskEntryMagic {
		return corrupt("bad magic")
	}
	if binary.LittleEndian.Uint32(buf[4:]) != diskEntryVersion {
		return corrupt("unknown version")
	}
	rest := buf[8:]
	fileKey, rest, ok := diskTakeField(rest)
	if !ok {
		return corrupt("bad key length")
	}
	info, rest, ok := diskTakeField(rest)
	if !ok {
		return corrupt("bad info length")
	}
	body, rest, ok := diskTakeField(rest)
	if !ok {
		return corrupt("bad body length")
	}
	if len(rest) != 4 {
		return corrupt("bad checksum length")
	}
	end := len(buf) - 4
	if crc32.Checksum(buf[:end], diskCastagnoli) != binary.LittleEndian.Uint32(buf[end:]) {
		return corrupt("checksum mismatch")
	}
	// Compared only after the checksum so that a damaged key is counted
	// as corruption, not mistaken for a hash collision.
	if string(fileKey) != key {
		return nil, errDiskEntryOtherKey
	}
	return &Entry{Key: key, Info: info[:len(info):len(info)], Body: body[:len(body):len(body)]}, nil
}

// diskTakeField splits a length-prefixed field (a uint64 length, then that
// many bytes) off the front of b; ok is false if b is too short for it.
func diskTakeField(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 8 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint64(b)
	b = b[8:]
	if n > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}
