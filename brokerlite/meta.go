package brokerlite

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Files the broker keeps in the first log dir, next to the partition directories.
const (
	metaPropertiesFile = "meta.properties"      // cluster.id and node.id, as Kafka writes them
	topicsFile         = "rivulet-topics.json"  // topics, their ids, partition counts and configs
	producerIDsFile    = "rivulet-producer-ids" // the end of the last producer-id block handed out
	lockFile           = ".lock"                // flock held while a broker uses the directory
)

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// dirLock is an exclusive flock on a data directory, so two brokers never share one.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("brokerlite: lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("brokerlite: %s is in use by another broker (pass a different --override log.dirs=...): %w", dir, err)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) release() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		_ = l.f.Close()
		l.f = nil
	}
}

// writeFileAtomic writes data to path crash-safely: a temp file in the same directory is
// written and fsynced, renamed over path, and the directory is fsynced, so after a crash the
// file holds either the old or the new content, never a mix.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type brokerMeta struct {
	clusterID string
	nodeID    int32
}

// newClusterID makes a Kafka-style cluster id: 16 random bytes in URL-safe base64 without
// padding (22 characters), as kafka-storage.sh random-uuid prints.
func newClusterID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// loadOrCreateMeta reads meta.properties, or writes it on first start. A node.id in the file
// that differs from the configured one is an error, as in Kafka (the directory belongs to
// another node).
func loadOrCreateMeta(dir string, s Settings) (brokerMeta, error) {
	path := filepath.Join(dir, metaPropertiesFile)
	f, err := os.Open(path)
	if err == nil {
		props, perr := ParseProperties(f)
		f.Close()
		if perr != nil {
			return brokerMeta{}, fmt.Errorf("brokerlite: %s: %w", path, perr)
		}
		m := brokerMeta{clusterID: props["cluster.id"]}
		idStr := props["node.id"]
		if idStr == "" {
			idStr = props["broker.id"]
		}
		id, perr := strconv.ParseInt(idStr, 10, 32)
		if perr != nil || m.clusterID == "" {
			return brokerMeta{}, fmt.Errorf("brokerlite: %s is damaged (no cluster.id or node.id); move it away to start a new cluster in this directory", path)
		}
		m.nodeID = int32(id)
		if m.nodeID != s.NodeID {
			return brokerMeta{}, fmt.Errorf("brokerlite: %s belongs to node.id=%d but this broker is configured as node.id=%d: set broker.id=%d or use another log.dirs",
				path, m.nodeID, s.NodeID, m.nodeID)
		}
		if s.ClusterID != "" && s.ClusterID != m.clusterID {
			return brokerMeta{}, fmt.Errorf("brokerlite: %s holds cluster.id=%s but cluster.id=%s is configured", path, m.clusterID, s.ClusterID)
		}
		return m, nil
	}
	if !os.IsNotExist(err) {
		return brokerMeta{}, fmt.Errorf("brokerlite: %w", err)
	}
	m := brokerMeta{clusterID: s.ClusterID, nodeID: s.NodeID}
	if m.clusterID == "" {
		m.clusterID = newClusterID()
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "#\n#%s\nversion=1\ncluster.id=%s\nnode.id=%d\n", time.Now().UTC().Format(time.RFC1123), m.clusterID, m.nodeID)
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return brokerMeta{}, fmt.Errorf("brokerlite: writing %s: %w", path, err)
	}
	return m, nil
}

// producerIDBlock is how many producer ids are reserved on disk at once (Kafka's
// ProducerIdManager hands out blocks of 1000 the same way).
const producerIDBlock = 1000

// producerIDManager hands out producer ids that never repeat, even across crashes: before an
// id of a new block is handed out, the block's end is fsynced to disk, and a restart starts
// at the recorded end. A crash wastes at most the rest of one block.
type producerIDManager struct {
	path string
	mu   sync.Mutex
	next int64 // next id to hand out
	end  int64 // first id not reserved on disk
}

func openProducerIDs(dir string) (*producerIDManager, error) {
	m := &producerIDManager{path: filepath.Join(dir, producerIDsFile)}
	data, err := os.ReadFile(m.path)
	switch {
	case err == nil:
		if len(data) != 8 {
			return nil, fmt.Errorf("brokerlite: %s is damaged (%d bytes, want 8)", m.path, len(data))
		}
		m.end = int64(binary.BigEndian.Uint64(data))
		if m.end < 0 {
			return nil, fmt.Errorf("brokerlite: %s is damaged (negative producer id)", m.path)
		}
		m.next = m.end
	case os.IsNotExist(err):
	default:
		return nil, fmt.Errorf("brokerlite: %w", err)
	}
	return m, nil
}

// allocate returns a fresh producer id.
func (m *producerIDManager) allocate() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next >= m.end {
		end := m.next + producerIDBlock
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(end))
		if err := writeFileAtomic(m.path, b[:]); err != nil {
			return 0, fmt.Errorf("brokerlite: reserving producer ids: %w", err)
		}
		m.end = end
	}
	id := m.next
	m.next++
	return id, nil
}
