package brokerlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkGroupOffsetCommit measures a consumer's OffsetCommit round trip (one partition,
// through kadm) against brokerlite, where each commit is fsynced to __consumer_offsets
// before the answer, and against franz-go's in-memory kfake in the same run (the baseline).
// "parallel" runs 4 x GOMAXPROCS committers spread over 8 groups.
func BenchmarkGroupOffsetCommit(b *testing.B) {
	bl := startBroker(b, "")
	createTopic(b, newClient(b, bl), "bench", 1)
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	for _, target := range []struct {
		name string
		addr string
	}{{"kfake", fake.ListenAddrs()[0]}, {"brokerlite", bl.Addr()}} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(target.addr), kgo.RetryTimeout(10*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		adm := kadm.NewClient(cl)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		commit := func(group string, off int64) {
			os := kadm.Offsets{}
			os.Add(kadm.Offset{Topic: "bench", Partition: 0, At: off, LeaderEpoch: -1})
			resp, err := adm.CommitOffsets(ctx, group, os)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		commit("warm", 0)
		b.Run(target.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				commit("bench-g", int64(i))
			}
		})
		b.Run(target.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4) // 4 x GOMAXPROCS committers
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				group := fmt.Sprintf("bench-p%d", n.Add(1)%8)
				i := int64(0)
				for pb.Next() {
					i++
					commit(group, i)
				}
			})
		})
		cancel()
		cl.Close()
	}
}
