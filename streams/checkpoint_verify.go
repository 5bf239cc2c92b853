package streams

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
	"github.com/rivulet-io/rivulet/topology"
)

// State integrity: a checkpoint says "this store reflects its changelog up
// to offset N". Before a task trusts it, the opener checks that
//
//   - the data on disk is the data the checkpoint was written for: each
//     Badger data directory holds a random data id (dataIDFileName), and
//     the store directory's identity file (identityFileName) records the
//     data id the store had when its checkpoints were written. Badger files
//     deleted (or replaced) while the checkpoint stayed show as a missing or
//     different data id;
//   - the checkpoint belongs to the changelog as it is now: the changelog
//     partition exists, its end offset is not below the checkpoint (a new
//     broker, or a changelog deleted and recreated, starts again at 0), its
//     log start offset is not above the checkpoint (the records between
//     were deleted, by retention or DeleteRecords, and a restore from the
//     checkpoint would miss them), and its topic id is the one recorded
//     when the store was last opened (when the broker gives topic ids).
//
// On a mismatch the store is wiped and restored from the changelog, and the
// reason is logged at WARN, as Kafka Streams treats such a checkpoint
// (TaskCorruptedException).

const (
	// dataIDFileName is the file in a store's Badger data directory holding
	// the data's random id; it goes when that directory goes.
	dataIDFileName = "RIVULET-DATA-ID"
	// identityFileName is the file in a store's directory recording the
	// data id and the changelog topic ids its checkpoints were written for.
	identityFileName = ".identity"
	identityHeader   = "rivulet-store-identity 1"
	// maxIdentitySize bounds what is read of an identity file.
	maxIdentitySize = 64 << 10
)

var identityCRC = crc32.MakeTable(crc32.Castagnoli)

// storeIdentity is the content of a store's identity file.
type storeIdentity struct {
	// DataID is the data id of the Badger directory the checkpoint
	// describes.
	DataID string
	// TopicIDs maps changelog topics to their topic id (hex) when the store
	// was opened.
	TopicIDs map[string]string
}

// encodeIdentity renders id as
//
//	rivulet-store-identity 1
//	data <hex>
//	topic <name> <hex topic id>     (sorted by name)
//	crc32c <8 hex digits>
func encodeIdentity(id storeIdentity) ([]byte, error) {
	if !validHexID(id.DataID) {
		return nil, fmt.Errorf("streams: store identity: invalid data id %q", id.DataID)
	}
	topics := make([]string, 0, len(id.TopicIDs))
	for t, tid := range id.TopicIDs {
		if !validTopicChars(t) || t == "" || !validHexID(tid) {
			return nil, fmt.Errorf("streams: store identity: invalid topic %q or id %q", t, tid)
		}
		topics = append(topics, t)
	}
	sort.Strings(topics)
	var b bytes.Buffer
	b.WriteString(identityHeader + "\n")
	b.WriteString("data " + id.DataID + "\n")
	for _, t := range topics {
		b.WriteString("topic " + t + " " + id.TopicIDs[t] + "\n")
	}
	fmt.Fprintf(&b, "crc32c %08x\n", crc32.Checksum(b.Bytes(), identityCRC))
	return b.Bytes(), nil
}

// errBadIdentity marks an identity file that cannot be decoded.
var errBadIdentity = errors.New("streams: damaged store identity file")

// decodeIdentity parses an identity file; anything but the exact form
// encodeIdentity writes is an error wrapping errBadIdentity.
func decodeIdentity(data []byte) (storeIdentity, error) {
	bad := func(why string) (storeIdentity, error) {
		return storeIdentity{}, fmt.Errorf("%w: %s", errBadIdentity, why)
	}
	if len(data) > maxIdentitySize {
		return bad("too large")
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return bad("truncated")
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	if len(lines) < 3 || lines[0] != identityHeader {
		return bad("missing header")
	}
	crcLine := lines[len(lines)-1]
	covered := data[:len(data)-len(crcLine)-1]
	sum, ok := strings.CutPrefix(crcLine, "crc32c ")
	if !ok || len(sum) != 8 {
		return bad("missing checksum")
	}
	want, err := strconv.ParseUint(sum, 16, 32)
	if err != nil || uint32(want) != crc32.Checksum(covered, identityCRC) {
		return bad("checksum mismatch")
	}
	id := storeIdentity{TopicIDs: map[string]string{}}
	dataID, ok := strings.CutPrefix(lines[1], "data ")
	if !ok {
		return bad("missing data id")
	}
	id.DataID = dataID
	for _, l := range lines[2 : len(lines)-1] {
		f := strings.Split(l, " ")
		if len(f) != 3 || f[0] != "topic" {
			return bad("bad line")
		}
		if _, dup := id.TopicIDs[f[1]]; dup {
			return bad("topic listed twice")
		}
		id.TopicIDs[f[1]] = f[2]
	}
	again, err := encodeIdentity(id)
	if err != nil || !bytes.Equal(again, data) {
		return bad("not in canonical form")
	}
	return id, nil
}

func validHexID(s string) bool {
	if len(s) == 0 || len(s) > 64 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// readDataID returns the data id of the store in dir ("" when there is
// none or it is unreadable).
func readDataID(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, badgerstore.DataDirName, dataIDFileName))
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if !validHexID(s) {
		return ""
	}
	return s
}

// newDataID gives the Badger data directory of the store in dir a new
// random id.
func newDataID(dir string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	if err := statestore.WriteFileAtomic(filepath.Join(dir, badgerstore.DataDirName, dataIDFileName), []byte(id+"\n")); err != nil {
		return "", err
	}
	return id, nil
}

// readIdentity reads the identity file of the store in dir; ok is false
// when there is none or it is damaged.
func readIdentity(dir string) (storeIdentity, bool) {
	f, err := os.Open(filepath.Join(dir, identityFileName))
	if err != nil {
		return storeIdentity{}, false
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(f, maxIdentitySize+1)); err != nil {
		return storeIdentity{}, false
	}
	id, err := decodeIdentity(b.Bytes())
	return id, err == nil
}

// changelogState is what the broker says about a changelog partition now.
type changelogState struct {
	exists  bool
	start   int64 // log start offset
	end     int64
	topicID string // hex; "" when the broker gives none
}

// changelogLookup asks the broker about changelog partitions.
type changelogLookup func(ctx context.Context, tps []statestore.TopicPartition) (map[statestore.TopicPartition]changelogState, error)

// changelogLookupTimeout bounds one lookup at store opening.
const changelogLookupTimeout = 30 * time.Second

// kadmChangelogLookup looks changelogs up with the admin client: start and
// end offsets (ListOffsets) and topic ids (Metadata).
func kadmChangelogLookup(admin *kadm.Client) changelogLookup {
	return func(ctx context.Context, tps []statestore.TopicPartition) (map[statestore.TopicPartition]changelogState, error) {
		topics := make([]string, 0, len(tps))
		seen := map[string]bool{}
		for _, tp := range tps {
			if !seen[tp.Topic] {
				seen[tp.Topic] = true
				topics = append(topics, tp.Topic)
			}
		}
		md, err := admin.Metadata(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("metadata of %v: %w", topics, err)
		}
		ends, err := admin.ListEndOffsets(ctx, topics...)
		if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("end offsets of %v: %w", topics, err)
		}
		starts, err := admin.ListStartOffsets(ctx, topics...)
		if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("start offsets of %v: %w", topics, err)
		}
		out := make(map[statestore.TopicPartition]changelogState, len(tps))
		for _, tp := range tps {
			td, ok := md.Topics[tp.Topic]
			if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
				out[tp] = changelogState{}
				continue
			}
			if td.Err != nil {
				return nil, fmt.Errorf("metadata of %s: %w", tp.Topic, td.Err)
			}
			if _, ok := td.Partitions[tp.Partition]; !ok {
				out[tp] = changelogState{}
				continue
			}
			st := changelogState{exists: true}
			if td.ID != (kadm.TopicID{}) {
				st.topicID = hex.EncodeToString(td.ID[:])
			}
			o, ok := ends.Lookup(tp.Topic, tp.Partition)
			if !ok {
				return nil, fmt.Errorf("no end offset for %s-%d", tp.Topic, tp.Partition)
			}
			if o.Err != nil {
				return nil, fmt.Errorf("end offset of %s-%d: %w", tp.Topic, tp.Partition, o.Err)
			}
			st.end = o.Offset
			o, ok = starts.Lookup(tp.Topic, tp.Partition)
			if !ok {
				return nil, fmt.Errorf("no start offset for %s-%d", tp.Topic, tp.Partition)
			}
			if o.Err != nil {
				return nil, fmt.Errorf("start offset of %s-%d: %w", tp.Topic, tp.Partition, o.Err)
			}
			st.start = o.Offset
			out[tp] = st
		}
		return out, nil
	}
}

// verifyOpened checks a persistent, logged store just opened in dir
// against its checkpoint cp (nil when it has none) and records its
// identity. It returns a non-empty reason when the checkpoint cannot be
// trusted: the caller then wipes the store and restores it from its
// changelog. A failed broker lookup is an error (nothing is wiped).
func (o *dirOpener) verifyOpened(task TaskID, name, dir string, cp statestore.Checkpoint) (reason string, err error) {
	dataID := readDataID(dir)
	ident, haveIdent := readIdentity(dir)
	tps := make([]statestore.TopicPartition, 0, len(cp)+1)
	for tp := range cp {
		tps = append(tps, tp)
	}
	if task != globalTaskID && o.appID != "" {
		own := statestore.TopicPartition{Topic: topology.ChangelogTopicName(o.appID, name), Partition: task.Partition}
		if _, ok := cp[own]; !ok {
			tps = append(tps, own)
		}
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var states map[statestore.TopicPartition]changelogState
	if o.lookup != nil && len(tps) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), changelogLookupTimeout)
		states, err = o.lookup(ctx, tps)
		cancel()
		if err != nil {
			return "", fmt.Errorf("streams: task %s: store %q: check its changelog: %w", task, name, err)
		}
	}
	if cp != nil {
		switch {
		case dataID == "":
			return "the store's data is gone or was not written by this version (no data id); its checkpoint describes data that is not there", nil
		case !haveIdent:
			return "the store has no (valid) identity file, so nothing ties its checkpoint to its data", nil
		case ident.DataID != dataID:
			return fmt.Sprintf("the checkpoint was written for data %s but the data on disk is %s", ident.DataID, dataID), nil
		}
		for _, tp := range tps {
			off, ok := cp[tp]
			if !ok || states == nil {
				continue
			}
			st := states[tp]
			switch {
			case !st.exists:
				return fmt.Sprintf("changelog %s-%d does not exist", tp.Topic, tp.Partition), nil
			case off > st.end:
				return fmt.Sprintf("the checkpoint offset %d of %s-%d is beyond the changelog's end %d (a new broker, or a changelog deleted and recreated)", off, tp.Topic, tp.Partition, st.end), nil
			case off < st.start:
				// Kafka Streams' restore consumer fails with an offset out
				// of range here, and the task's state is wiped
				// (TaskCorruptedException): the store holds what the
				// deleted records changed, deletes included, which a
				// restore from the changelog as it is now would not.
				return fmt.Sprintf("the checkpoint offset %d of %s-%d is below the changelog's log start offset %d (the records between were deleted, by retention or DeleteRecords)", off, tp.Topic, tp.Partition, st.start), nil
			case st.topicID != "" && ident.TopicIDs[tp.Topic] != "" && st.topicID != ident.TopicIDs[tp.Topic]:
				return fmt.Sprintf("changelog %s was recreated (topic id %s, the checkpoint was written for %s)", tp.Topic, st.topicID, ident.TopicIDs[tp.Topic]), nil
			}
		}
	}
	// Trusted (or nothing to trust): record the identity for the next open.
	if dataID == "" {
		if dataID, err = newDataID(dir); err != nil {
			return "", fmt.Errorf("streams: task %s: store %q: data id: %w", task, name, err)
		}
	}
	next := storeIdentity{DataID: dataID, TopicIDs: map[string]string{}}
	if haveIdent && cp != nil {
		for t, id := range ident.TopicIDs {
			next.TopicIDs[t] = id
		}
	}
	for tp, st := range states {
		if st.topicID != "" {
			next.TopicIDs[tp.Topic] = st.topicID
		}
	}
	data, err := encodeIdentity(next)
	if err != nil {
		return "", err
	}
	if old, err := os.ReadFile(filepath.Join(dir, identityFileName)); err == nil && bytes.Equal(old, data) {
		return "", nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("streams: task %s: store %q: read identity: %w", task, name, err)
	}
	if err := statestore.WriteFileAtomic(filepath.Join(dir, identityFileName), data); err != nil {
		return "", fmt.Errorf("streams: task %s: store %q: write identity: %w", task, name, err)
	}
	return "", nil
}
