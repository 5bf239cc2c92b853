package memstore_test

import (
	"fmt"
	"time"

	"github.com/rivulet-io/rivulet/statestore"
	"github.com/rivulet-io/rivulet/statestore/memstore"
)

func ExampleNewKeyValueStore() {
	kv := memstore.NewKeyValueStore("counts", statestore.KeyValueOptions{})
	defer kv.Close()
	for _, w := range []string{"kafka", "go", "streams", "badger"} {
		_ = kv.Put([]byte(w), []byte{byte(len(w))})
	}
	it, _ := kv.Range([]byte("b"), []byte("kafka")) // both bounds inclusive
	for it.Next() {
		fmt.Printf("%s=%d\n", it.Key(), it.Value()[0])
	}
	if err := it.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// badger=6
	// go=2
	// kafka=5
}

func ExampleNewWindowStore() {
	ws, _ := memstore.NewWindowStore("clicks-per-minute", statestore.WindowOptions{
		Retention:  10 * time.Minute,
		WindowSize: time.Minute,
	})
	defer ws.Close()
	for _, start := range []int64{0, 60_000, 120_000} {
		_ = ws.Put([]byte("user-1"), []byte{byte(start / 60_000)}, start)
	}
	it, _ := ws.Fetch([]byte("user-1"), 60_000, 180_000)
	for it.Next() {
		fmt.Printf("%s [%d,%d) -> %d\n", it.Key(), it.Start(), it.End(), it.Value()[0])
	}
	_ = it.Close()
	// Output:
	// user-1 [60000,120000) -> 1
	// user-1 [120000,180000) -> 2
}

func ExampleNewSessionStore() {
	ss, _ := memstore.NewSessionStore("sessions", statestore.SessionOptions{Retention: time.Hour})
	defer ss.Close()
	_ = ss.Put(statestore.Windowed{Key: []byte("u"), Start: 1000, End: 5000}, []byte("a"))
	_ = ss.Put(statestore.Windowed{Key: []byte("u"), Start: 20_000, End: 21_000}, []byte("b"))
	// Sessions a record at t=7000 with an inactivity gap of 3000 could merge with.
	it, _ := ss.FindSessions([]byte("u"), 7000-3000, 7000+3000)
	for it.Next() {
		fmt.Printf("[%d,%d] %s\n", it.Start(), it.End(), it.Value())
	}
	_ = it.Close()
	// Output:
	// [1000,5000] a
}
