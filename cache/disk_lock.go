package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// diskLockName is the file whose flock marks a cache directory as in use.
const diskLockName = "lock"

// diskLockDir takes an exclusive flock on dir's lock file and returns the
// open file that holds it; closing the file releases the lock, and so does
// the death of the process, so a crash never leaves the directory locked.
// flock locks belong to the open file description, so a second open of the
// same file conflicts even within one process: two DiskBackends cannot
// share a directory.
func diskLockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, diskLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache: disk cache directory %s is not writable: %w", dir, err)
	}
	// Non-blocking: a cache held by another process is skipped, not
	// waited for.
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return f, nil
	}
	f.Close()
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
	}
	return nil, fmt.Errorf("cache: cannot lock disk cache directory %s: %w", dir, os.NewSyscallError("flock", err))
}
