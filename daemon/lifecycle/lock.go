package lifecycle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFile is the name of the lock in the runtime dir.
const LockFile = "cbd.lock"

// Owner describes the cbd holding a runtime dir's lock.
type Owner struct {
	PID        int
	InstanceID string
}

// ErrLocked is returned (wrapped in *LockedError) when another process
// holds the runtime dir.
var ErrLocked = errors.New("runtime dir is locked by another cbd")

// LockedError says who holds the lock.
type LockedError struct {
	Dir   string
	Owner Owner // zero PID when the lock file could not be read
}

func (e *LockedError) Error() string {
	who := "another cbd"
	if e.Owner.PID > 0 {
		who = fmt.Sprintf("another cbd (pid %d", e.Owner.PID)
		if e.Owner.InstanceID != "" {
			who += ", instance " + e.Owner.InstanceID
		}
		who += ")"
	}
	return who + " already runs for " + e.Dir
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is a held runtime-dir lock: an flock on dir/cbd.lock, released by
// Release or when the process ends (even by SIGKILL), so a crash never
// leaves a stale lock. The file itself is never removed: removing a lock
// file lets two processes hold "the" lock on two different inodes.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes dir's lock without waiting and writes this process's pid
// and instance id into it. When another process holds it, the error is a
// *LockedError naming that process.
func Acquire(dir, instanceID string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("runtime dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("runtime dir: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// A holder that has emptied the file is letting go (Release empties it
	// before it closes): try again for a moment before naming it.
	var owner Owner
	for try := 0; ; try++ {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if held {
			break
		}
		if owner = readOwner(path); owner.PID > 0 || try == 2 {
			f.Close()
			return nil, &LockedError{Dir: dir, Owner: owner}
		}
	}
	content := fmt.Sprintf("pid %d\ninstance %s\n", os.Getpid(), instanceID)
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(content), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Path is the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Emptied first so nobody reads a pid that no longer holds the lock.
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}

// readOwner reads the holder's pid and id; the holder writes them just
// after taking the lock, so an empty file is read again for a moment.
func readOwner(path string) Owner {
	var o Owner
	for i := 0; i < 20; i++ {
		o = parseOwner(path)
		if o.PID > 0 {
			return o
		}
		time.Sleep(25 * time.Millisecond)
	}
	return o
}

func parseOwner(path string) Owner {
	data, err := os.ReadFile(path)
	if err != nil {
		return Owner{}
	}
	return ParseOwner(data)
}

// ParseOwner reads a lock file's "pid N" and "instance ID" lines; anything
// else is ignored, and a malformed pid reads as 0 (unknown).
func ParseOwner(data []byte) Owner {
	var o Owner
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "pid":
			if pid, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && pid > 0 {
				o.PID = pid
			}
		case "instance":
			o.InstanceID = strings.TrimSpace(v)
		}
	}
	return o
}
