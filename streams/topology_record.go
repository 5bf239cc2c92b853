package streams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/rivulet-io/rivulet/topology"
)

// The topology record: the names of the stores and internal topics an
// application ran with, kept in <state.dir>/<application.id>/topology.json.
// Kafka Streams names unnamed stores and repartition topics after a global
// operator counter (KSTREAM-AGGREGATE-STATE-STORE-0000000003), so adding an
// operator upstream renumbers them: the new version starts with empty
// stores and changelogs while the old state is orphaned, and nothing says
// so. At start the runtime compares the topology with the record and
// refuses such a renumbering; the record is rewritten once the start is
// allowed.

// topologyRecordFile is the record's file name in the application's state
// directory.
const topologyRecordFile = "topology.json"

// topologyRecordVersion is the record's format version.
const topologyRecordVersion = 1

// topologyRecord is the content of topology.json.
type topologyRecord struct {
	Version       int    `json:"version"`
	ApplicationID string `json:"application_id"`
	// Stores are the names of the task stores (global stores are left out:
	// they are rebuilt from their source topic, so a rename loses nothing).
	Stores []string `json:"stores"`
	// InternalTopics are the full names of the repartition and changelog
	// topics.
	InternalTopics []string `json:"internal_topics"`
}

// recordOf returns the record of a topology bound to its application id.
func recordOf(names *topology.Bound) *topologyRecord {
	r := &topologyRecord{Version: topologyRecordVersion, ApplicationID: names.ApplicationID(), Stores: []string{}, InternalTopics: []string{}}
	for _, s := range names.Topology().Stores() {
		if !s.Global {
			r.Stores = append(r.Stores, s.Name)
		}
	}
	for _, it := range names.InternalTopics(nil) {
		r.InternalTopics = append(r.InternalTopics, it.Name)
	}
	sort.Strings(r.Stores)
	sort.Strings(r.InternalTopics)
	return r
}

// decodeTopologyRecord parses a record; anything but a complete record of
// a known version is an error.
func decodeTopologyRecord(b []byte) (*topologyRecord, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r topologyRecord
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("streams: topology record: %w", err)
	}
	if dec.More() {
		return nil, errors.New("streams: topology record: data after the record")
	}
	if r.Version != topologyRecordVersion {
		return nil, fmt.Errorf("streams: topology record: unknown version %d", r.Version)
	}
	if r.Stores == nil || r.InternalTopics == nil {
		return nil, errors.New("streams: topology record: stores or internal_topics missing")
	}
	for _, n := range append(append([]string(nil), r.Stores...), r.InternalTopics...) {
		if n == "" {
			return nil, errors.New("streams: topology record: empty name")
		}
	}
	return &r, nil
}

func (r *topologyRecord) encode() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("streams: topology record: %w", err)
	}
	return append(b, '\n'), nil
}

// generatedName matches a name made by the DSL's operator counter: a
// prefix ending in '-', ten digits, and optional "-word" suffixes
// ("-repartition", "-changelog").
var generatedName = regexp.MustCompile(`^(.*?-)([0-9]{10})((?:-[A-Za-z]+)*)$`)

// generatedKind returns the kind of an auto-generated name (the name with
// its counter replaced by '#'), and false for a name the user chose.
// Internal topics are matched without their application id prefix.
func generatedKind(name, applicationID string) (string, bool) {
	name = strings.TrimPrefix(name, applicationID+"-")
	m := generatedName.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1] + "#" + m[3], true
}

// NameChange is one kind of auto-generated name whose old names
// disappeared while new ones of the same kind appeared.
type NameChange struct {
	// What is "store" or "internal topic".
	What string
	// Old are the recorded names the new topology no longer has.
	Old []string
	// New are the names the new topology has instead.
	New []string
}

// String renders c as "store OLD is now NEW".
func (c NameChange) String() string {
	return c.What + " " + strings.Join(c.Old, ", ") + " is now " + strings.Join(c.New, ", ")
}

// TopologyChangeError refuses a start whose topology renamed
// auto-generated stores or internal topics the application already has
// state in (typically because an operator was added upstream and the
// names were renumbered). Pin the old names in the new topology, or set
// rivulet.topology.accept.changes=true to start the new names from empty
// state.
type TopologyChangeError struct {
	// Record is the path of the topology record compared against.
	Record string
	// Changes lists the renamed names.
	Changes []NameChange
}

func (e *TopologyChangeError) Error() string {
	var b strings.Builder
	b.WriteString("streams: start: the topology renames auto-generated state names the application already has, which would orphan that state (the new names start empty): ")
	for i, c := range e.Changes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.String())
	}
	b.WriteString(". Pin the old names in the new topology (MaterializedAs(name) for stores, GroupedAs / RepartitionedAs names for repartition topics, Named for processors; a topic is named after its store or grouping)")
	fmt.Fprintf(&b, ", or set %s=true to accept the change knowingly (record: %s)", PropTopologyAcceptChanges, e.Record)
	return b.String()
}

// compareRecords returns the renumbered names between old and new, sorted
// by kind.
func compareRecords(old, new *topologyRecord) []NameChange {
	var out []NameChange
	diff := func(what string, o, n []string) {
		inNew := make(map[string]bool, len(n))
		for _, s := range n {
			inNew[s] = true
		}
		inOld := make(map[string]bool, len(o))
		for _, s := range o {
			inOld[s] = true
		}
		gone := map[string][]string{}
		for _, s := range o {
			if k, ok := generatedKind(s, old.ApplicationID); ok && !inNew[s] {
				gone[k] = append(gone[k], s)
			}
		}
		added := map[string][]string{}
		for _, s := range n {
			if k, ok := generatedKind(s, new.ApplicationID); ok && !inOld[s] {
				added[k] = append(added[k], s)
			}
		}
		kinds := make([]string, 0, len(gone))
		for k := range gone {
			if len(added[k]) > 0 {
				kinds = append(kinds, k)
			}
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			sort.Strings(gone[k])
			sort.Strings(added[k])
			out = append(out, NameChange{What: what, Old: gone[k], New: added[k]})
		}
	}
	diff("store", old.Stores, new.Stores)
	diff("internal topic", old.InternalTopics, new.InternalTopics)
	return out
}

// checkTopologyRecord compares the topology with the record in the
// application's state directory and, when the start may go ahead, writes
// the new record. No record (a first run) refuses nothing.
func (a *App) checkTopologyRecord() error {
	dir := filepath.Join(a.cfg.StateDir, a.cfg.ApplicationID)
	path := filepath.Join(dir, topologyRecordFile)
	cur := recordOf(a.topo.names)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("streams: read topology record: %w", err)
	default:
		old, err := decodeTopologyRecord(b)
		if err != nil {
			if !a.cfg.AcceptTopologyChanges {
				return fmt.Errorf("%w (file %s); remove the file, or set %s=true to replace it", err, path, PropTopologyAcceptChanges)
			}
			a.cfg.Logger.Warn("streams: replacing an unreadable topology record", "file", path, "err", err)
			break
		}
		if ch := compareRecords(old, cur); len(ch) > 0 {
			e := &TopologyChangeError{Record: path, Changes: ch}
			if !a.cfg.AcceptTopologyChanges {
				return e
			}
			var list []string
			for _, c := range ch {
				list = append(list, c.String())
			}
			a.cfg.Logger.Warn("streams: topology renames auto-generated state names, which start empty; accepted by "+PropTopologyAcceptChanges, "changes", strings.Join(list, "; "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("streams: state directory: %w", err)
	}
	out, err := cur.encode()
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, path, out)
}

// writeFileAtomic replaces path with data through a synced temporary file
// in dir and a rename, so a crash leaves the old or the new file.
func writeFileAtomic(dir, path string, data []byte) error {
	f, err := os.CreateTemp(dir, ".topology-*.tmp")
	if err != nil {
		return fmt.Errorf("streams: write topology record: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("streams: write topology record: %w", err)
	}
	return nil
}
