package badgerstore_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/badgerstore"
)

var changelogTP = statestore.TopicPartition{Topic: "app-store-changelog", Partition: 0}

// TestMain lets the test binary act as a store-writing child process for the kill -9 test.
func TestMain(m *testing.M) {
	if dir := os.Getenv("BADGERSTORE_CHILD_DIR"); dir != "" {
		os.Exit(childWriter(dir))
	}
	if dir := os.Getenv("BADGERSTORE_RESTORE_CHILD_DIR"); dir != "" {
		os.Exit(childRestorer(dir))
	}
	code := m.Run()
	badgerstore.CleanupBenchFixtures()
	if templateDir != "" {
		os.RemoveAll(templateDir)
	}
	os.Exit(code)
}

// childWriter writes 1000 keys, flushes and checkpoints them, writes 1000 more without a
// flush, says "ready" and waits to be killed.
func childWriter(dir string) int {
	s, err := badgerstore.OpenKeyValueStore(dir, "store", testOptions(), statestore.KeyValueOptions{})
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	for i := range 2000 {
		if err := s.Put(fmt.Appendf(nil, "key-%05d", i), fmt.Appendf(nil, "value-%d", i)); err != nil {
			fmt.Println("put:", err)
			return 1
		}
		if i == 999 {
			if err := s.Flush(); err != nil {
				fmt.Println("flush:", err)
				return 1
			}
			if err := statestore.WriteCheckpoint(dir, statestore.Checkpoint{changelogTP: 1000}); err != nil {
				fmt.Println("checkpoint:", err)
				return 1
			}
		}
	}
	fmt.Println("ready")
	time.Sleep(time.Hour) // killed by the parent
	return 0
}

// crashChangelog is what childRestorer restores: enough records for the table-building
// path, with overwrites and tombstones; model is what it leaves.
func crashChangelog() (recs []statestore.ChangelogRecord, model map[string]string) {
	model = map[string]string{}
	for i := range 20_000 {
		k := fmt.Sprintf("key-%05d", (i*7919)%9000)
		rec := statestore.ChangelogRecord{Key: []byte(k), Offset: int64(i)}
		if i%11 == 0 {
			delete(model, k)
		} else {
			rec.Value = fmt.Appendf(nil, "value-%d", i)
			model[k] = string(rec.Value)
		}
		recs = append(recs, rec)
	}
	return recs, model
}

// childRestorer restores crashChangelog into an empty store; the load hook set from
// BADGERSTORE_CRASH_AT (load_test.go) says "ready" at that stage and waits to be killed.
func childRestorer(dir string) int {
	s, err := badgerstore.OpenKeyValueStore(dir, "store", durableOptions(), statestore.KeyValueOptions{})
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	recs, _ := crashChangelog()
	rs := statestore.NewRestorer(s, statestore.RestoreOptions{})
	if err := rs.Apply(recs); err != nil {
		fmt.Println("restore:", err)
		return 1
	}
	_, err = rs.Finish()
	fmt.Println("finished without a crash:", err)
	return 1
}

// TestKill9DuringRestoreFromScratch kills a process while it builds a store's tables at
// the end of a restore from scratch: before they are in Badger's MANIFEST the store opens
// empty (Badger deletes the tables), after it the store opens with everything restored.
// Either way it opens, has no checkpoint (the runtime restores from the beginning), and
// that restore leaves the changelog's state.
func TestKill9DuringRestoreFromScratch(t *testing.T) {
	recs, model := crashChangelog()
	for _, stage := range []string{"tables", "manifest", "open"} {
		t.Run(stage, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "BADGERSTORE_RESTORE_CHILD_DIR="+dir, "BADGERSTORE_CRASH_AT="+stage)
			killWhenReady(t, cmd)

			s := openKV(t, dir, "store", durableOptions())
			defer s.Close()
			if st := s.Status(); !st.Unclean || st.Wiped {
				t.Fatalf("status %+v, want unclean and not wiped", st)
			}
			if cp, err := statestore.ReadCheckpoint(dir); cp != nil || err != nil {
				t.Fatalf("checkpoint %v, %v; want none", cp, err)
			}
			n, err := s.ApproximateNumEntries()
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if stage == "open" {
				want = len(model)
			}
			if int(n) != want {
				t.Fatalf("%d entries after the crash, want %d", n, want)
			}
			if ssts, _ := filepath.Glob(filepath.Join(dir, badgerstore.DataDirName, "*.sst")); want == 0 && len(ssts) > 0 {
				t.Fatalf("tables not in the MANIFEST were left behind: %v", ssts)
			}
			rs := statestore.NewRestorer(s, statestore.RestoreOptions{})
			if err := rs.Apply(recs); err != nil {
				t.Fatal(err)
			}
			if _, err := rs.Finish(); err != nil {
				t.Fatal(err)
			}
			it, err := s.All()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for it.Next() {
				got[string(it.Key())] = string(it.Value())
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(model) {
				t.Fatalf("%d keys after restoring again, want %d", len(got), len(model))
			}
			for k, v := range model {
				if got[k] != v {
					t.Fatalf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func durableOptions() badgerstore.Options {
	o := testOptions()
	o.NoSyncOnFlush = false
	return o
}

func TestKill9KeepsCheckpointedState(t *testing.T) {
	for _, wipe := range []bool{false, true} {
		t.Run(fmt.Sprint("WipeUnclean=", wipe), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "BADGERSTORE_CHILD_DIR="+dir)
			killWhenReady(t, cmd)

			opts := durableOptions()
			opts.WipeUnclean = wipe
			s := openKV(t, dir, "store", opts)
			defer s.Close()
			st := s.Status()
			if !st.Unclean {
				t.Fatalf("status after kill -9 = %+v, want Unclean", st)
			}
			cp, err := statestore.ReadCheckpoint(dir)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := s.ApproximateNumEntries()
			if wipe {
				if !st.Wiped || cp != nil || n != 0 {
					t.Fatalf("WipeUnclean: status %+v, checkpoint %v, %d entries; want wiped, none, 0", st, cp, n)
				}
				return
			}
			if st.Wiped || cp[changelogTP] != 1000 {
				t.Fatalf("status %+v, checkpoint %v; want kept, offset 1000", st, cp)
			}
			// Everything the checkpoint covers survived.
			for i := range 1000 {
				v, err := s.Get(fmt.Appendf(nil, "key-%05d", i))
				if err != nil || string(v) != fmt.Sprintf("value-%d", i) {
					t.Fatalf("key %d after kill -9: %q, %v", i, v, err)
				}
			}
			if n < 1000 {
				t.Fatalf("%d entries after kill -9, want at least 1000", n)
			}
		})
	}
}

func TestCleanCloseIsClean(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, "s", testOptions())
	if _, err := os.Stat(filepath.Join(dir, badgerstore.DirtyFileName)); err != nil {
		t.Fatalf("no dirty marker while open: %v", err)
	}
	_ = s.Put([]byte("k"), []byte("v"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openKV(t, dir, "s", testOptions())
	defer s.Close()
	if st := s.Status(); st.Unclean || st.Wiped {
		t.Fatalf("status after a clean close = %+v", st)
	}
	if v, _ := s.Get([]byte("k")); string(v) != "v" {
		t.Fatalf("after reopen: %q", v)
	}
}

func TestUnopenableDirIsWipedWithItsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, "s", testOptions())
	_ = s.Put([]byte("k"), []byte("v"))
	_ = s.Flush()
	_ = statestore.WriteCheckpoint(dir, statestore.Checkpoint{changelogTP: 1})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, badgerstore.DataDirName, "MANIFEST"), []byte("garbage, not a manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = openKV(t, dir, "s", testOptions())
	defer s.Close()
	st := s.Status()
	if !st.Wiped || st.Reason == nil {
		t.Fatalf("status = %+v, want wiped with a reason", st)
	}
	if cp, err := statestore.ReadCheckpoint(dir); cp != nil || err != nil {
		t.Fatalf("checkpoint after wipe = %v, %v; want none", cp, err)
	}
	if v, _ := s.Get([]byte("k")); v != nil {
		t.Fatalf("wiped store still has data")
	}
	if err := s.Put([]byte("k2"), []byte("v")); err != nil {
		t.Fatalf("wiped store is not usable: %v", err)
	}
}

func TestLockedDirIsNotWiped(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, "s", testOptions())
	defer s.Close()
	_ = s.Put([]byte("k"), []byte("v"))
	_ = s.Flush()
	if _, err := badgerstore.OpenKeyValueStore(dir, "s", testOptions(), statestore.KeyValueOptions{}); !errors.Is(err, badgerstore.ErrLocked) {
		t.Fatalf("second open = %v, want ErrLocked", err)
	}
	if v, _ := s.Get([]byte("k")); string(v) != "v" {
		t.Fatalf("the first store lost its data: %q", v)
	}
}

func TestInvalidOptions(t *testing.T) {
	o := testOptions()
	o.NumCompactors = 1
	if _, err := badgerstore.OpenKeyValueStore(t.TempDir(), "s", o, statestore.KeyValueOptions{}); !errors.Is(err, statestore.ErrInvalidOptions) {
		t.Fatalf("open with 1 compactor = %v", err)
	}
	if b := badgerstore.OptionsForMemory(64 << 20).MemoryBound(); b < 56<<20 || b > 64<<20 {
		t.Fatalf("OptionsForMemory(64 MiB).MemoryBound() = %d", b)
	}
}

// A template store directory, built once, copied and damaged by the fuzz target.
var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

func buildTemplate() {
	templateDir, templateErr = os.MkdirTemp("", "badgerstore-fuzz-")
	if templateErr != nil {
		return
	}
	// Two openings: the first writes uncompressed tables, the second compressed ones
	// (a store's tables keep the compression they were written with).
	for _, c := range []badgerstore.Compression{badgerstore.CompressionNone, badgerstore.CompressionZSTD} {
		opts := testOptions()
		opts.Compression = c
		s, err := badgerstore.OpenKeyValueStore(templateDir, "s", opts, statestore.KeyValueOptions{})
		if err != nil {
			templateErr = err
			return
		}
		for i := range 1500 {
			if c != badgerstore.CompressionNone {
				i += 1500
			}
			_ = s.Put(fmt.Appendf(nil, "key-%05d", i), fmt.Appendf(nil, "value-%d-padding-padding-padding", i))
			if i%500 == 499 {
				_ = s.Flush()
			}
		}
		_ = statestore.WriteCheckpoint(templateDir, statestore.Checkpoint{changelogTP: 3000})
		if templateErr = s.Close(); templateErr != nil {
			return
		}
	}
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// FuzzOpenDamagedStore damages one file of a store directory (flipping a byte or cutting
// the file short) and opens it: opening must not panic and must give a usable store,
// either recovered or wiped and reported.
func FuzzOpenDamagedStore(f *testing.F) {
	f.Add(uint8(0), uint32(0), uint8(0xff), false)
	f.Add(uint8(1), uint32(100), uint8(1), false)
	f.Add(uint8(2), uint32(10), uint8(0), true)
	f.Add(uint8(3), uint32(4096), uint8(0x80), false)
	f.Fuzz(func(t *testing.T, fileIdx uint8, off uint32, xor uint8, truncate bool) {
		templateOnce.Do(buildTemplate)
		if templateErr != nil {
			t.Fatal(templateErr)
		}
		dir := t.TempDir()
		if err := copyDir(templateDir, dir); err != nil {
			t.Fatal(err)
		}
		var files []string
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return nil
		})
		sort.Strings(files)
		victim := files[int(fileIdx)%len(files)]
		data, err := os.ReadFile(victim)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 {
			i := int(off) % len(data)
			if truncate {
				data = data[:i]
			} else {
				data[i] ^= xor
			}
		}
		if err := os.WriteFile(victim, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := badgerstore.OpenKeyValueStore(dir, "s", testOptions(), statestore.KeyValueOptions{})
		if err != nil {
			t.Fatalf("open after damaging %s: %v", filepath.Base(victim), err)
		}
		defer s.Close()
		// Reads may fail on damaged data, but must not panic; writes must work.
		if it, err := s.All(); err == nil {
			for it.Next() {
			}
			it.Close()
		}
		_, _ = s.Get([]byte("key-00001"))
		if err := s.Put([]byte("new"), []byte("v")); err != nil {
			t.Fatalf("store not writable after damaging %s: %v", filepath.Base(victim), err)
		}
		if st := s.Status(); st.Wiped {
			if cp, _ := statestore.ReadCheckpoint(dir); cp != nil {
				t.Fatalf("wiped store kept its checkpoint")
			}
		}
	})
}

// killWhenReady starts cmd (this test binary as a child), waits for its
// "ready" line on stdout and kills it with SIGKILL.
func killWhenReady(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
}
