package brokerlite

// DescribeLogDirs (key 35), versions 0-4.
//
// Lists each data directory of log.dirs with the partitions stored in it and their size on
// disk (the sum of their segment files). A null topic list means every partition; named
// topics that do not exist are left out, as Kafka does. OffsetLag is always 0 and IsFuture
// false: brokerlite never moves partitions between directories. From v4 each directory
// carries its file system's total and usable bytes (statfs), or -1 when they cannot be read.
// A directory that cannot be read answers KAFKA_STORAGE_ERROR for that directory.

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.DescribeLogDirs, 0, 4, handleDescribeLogDirs) }

func handleDescribeLogDirs(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)

	// The partitions asked for, by topic (nil: every partition of every topic).
	var want map[string][]int32
	if req.Topics != nil {
		want = make(map[string][]int32, len(req.Topics))
		for _, rt := range req.Topics {
			want[rt.Topic] = append(want[rt.Topic], rt.Partitions...)
		}
	}
	type part struct {
		index int32
		size  int64
	}
	byDir := map[string]map[string][]part{} // log dir -> topic -> partitions
	for _, name := range b.topics.sortedNames() {
		t := b.topics.get(name)
		if t == nil {
			continue
		}
		var idx []int32
		if want == nil {
			for i := range t.partitions {
				idx = append(idx, int32(i))
			}
		} else if ps, ok := want[name]; ok {
			for _, i := range ps {
				if i >= 0 && int(i) < len(t.partitions) {
					idx = append(idx, i)
				}
			}
		}
		for _, i := range idx {
			p := t.partitions[i]
			dir := filepath.Dir(p.log.Dir())
			if byDir[dir] == nil {
				byDir[dir] = map[string][]part{}
			}
			byDir[dir][name] = append(byDir[dir][name], part{i, p.log.Size()})
		}
	}

	for _, dir := range b.settings.LogDirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			abs = dir
		}
		rd := kmsg.NewDescribeLogDirsResponseDir()
		rd.Dir = abs
		if _, err := os.Stat(dir); err != nil {
			rd.ErrorCode = kerr.KafkaStorageError.Code
			resp.Dirs = append(resp.Dirs, rd)
			continue
		}
		topics := byDir[filepath.Clean(dir)]
		if topics == nil {
			topics = byDir[abs]
		}
		names := make([]string, 0, len(topics))
		for n := range topics {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			rt := kmsg.NewDescribeLogDirsResponseDirTopic()
			rt.Topic = n
			for _, p := range topics[n] {
				rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
				rp.Partition, rp.Size = p.index, p.size
				rt.Partitions = append(rt.Partitions, rp)
			}
			rd.Topics = append(rd.Topics, rt)
		}
		if req.Version >= 4 {
			rd.TotalBytes, rd.UsableBytes = diskSpace(dir)
		}
		resp.Dirs = append(resp.Dirs, rd)
	}
	return resp, nil
}

// diskSpace returns the total and available bytes of the file system holding dir, or -1,
// -1 when statfs fails.
func diskSpace(dir string) (total, usable int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, -1
	}
	bs := uint64(st.Bsize)
	return int64(uint64(st.Blocks) * bs), int64(uint64(st.Bavail) * bs)
}
