package brokerlite

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkGroupOffsetCommit measures a consumer's OffsetCommit round trip (one partition,
// through kadm) against brokerlite, where each commit is durable (fsynced to
// __consumer_offsets) before the answer, and against franz-go's in-memory kfake in the same
// run (the baseline). The cases:
//
//   - serial: one committer.
//   - parallel: 4 x GOMAXPROCS committers over 8 groups sharing one client (one connection,
//     on which a broker runs one request at a time, as Kafka does).
//   - parallel-clients: 4 x GOMAXPROCS committers over 8 groups, each with its own client,
//     as separate consumers commit.
//   - one-group: 4 x GOMAXPROCS committers with their own clients and partitions, all in
//     one group, as the stream threads of one app commit.
func BenchmarkGroupOffsetCommit(b *testing.B) {
	bl := startBroker(b, "")
	createTopic(b, newClient(b, bl), "bench", 8)
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	committers := 4 * runtime.GOMAXPROCS(0)
	for _, target := range []struct {
		name string
		addr string
	}{{"kfake", fake.ListenAddrs()[0]}, {"brokerlite", bl.Addr()}} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		var adms []*kadm.Client
		for range committers {
			cl, err := kgo.NewClient(kgo.SeedBrokers(target.addr), kgo.RetryTimeout(10*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			adms = append(adms, kadm.NewClient(cl))
		}
		commit := func(adm *kadm.Client, group string, partition int32, off int64) {
			os := kadm.Offsets{}
			os.Add(kadm.Offset{Topic: "bench", Partition: partition, At: off, LeaderEpoch: -1})
			resp, err := adm.CommitOffsets(ctx, group, os)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, adm := range adms {
			commit(adm, "warm", 0, 0) // connections open, coordinator known
		}
		b.Run(target.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				commit(adms[0], "bench-g", 0, int64(i))
			}
		})
		parallel := func(name string, client func(i int) *kadm.Client, group func(i int) string) {
			b.Run(target.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(4) // 4 x GOMAXPROCS committers
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					me := int(n.Add(1)-1) % committers
					adm, g := client(me), group(me)
					for i := int64(0); pb.Next(); i++ {
						commit(adm, g, int32(me%8), i)
					}
				})
			})
		}
		parallel("parallel", func(int) *kadm.Client { return adms[0] }, func(i int) string { return fmt.Sprintf("bench-p%d", i%8) })
		parallel("parallel-clients", func(i int) *kadm.Client { return adms[i] }, func(i int) string { return fmt.Sprintf("bench-c%d", i%8) })
		parallel("one-group", func(i int) *kadm.Client { return adms[i] }, func(int) string { return "bench-one" })
		cancel()
	}
}
