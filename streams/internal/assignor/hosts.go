package assignor

import (
	"fmt"
	"sort"
)

// TaskLags turns an instance's offset sums into lags against the
// changelogs' end-offset sums: a running task (OffsetSumRunning) has lag 0;
// a task without end offsets counts as caught up (stickiness when the
// brokers do not answer); a stateful task the instance holds nothing of is
// its whole changelog behind (so short changelogs are caught up at once).
// A state ahead of its changelogs' ends (the changelog was truncated or
// deleted and recreated) cannot be used: the task would restore from
// scratch there, so its lag is the whole changelog, as Kafka Streams'
// ClientState.computeTaskLags counts it, and an instance holding a usable
// copy is preferred. Several members of an instance may report a task:
// the least lag wins.
func TaskLags(sums []TaskOffsetSum, ends map[TaskID]int64, stateful map[TaskID]bool) map[TaskID]int64 {
	lags := map[TaskID]int64{}
	for _, s := range sums {
		if !stateful[s.Task] {
			continue
		}
		var lag int64
		switch end, known := ends[s.Task]; {
		case s.Sum < 0: // OffsetSumRunning
			lag = 0
		case !known:
			lag = 0
		case s.Sum > end:
			lag = end
		default:
			lag = end - s.Sum
		}
		if old, ok := lags[s.Task]; !ok || lag < old {
			lags[s.Task] = lag
		}
	}
	for t, end := range ends {
		if _, ok := lags[t]; !ok && stateful[t] {
			lags[t] = end
		}
	}
	return lags
}

// HostsOf builds the host metadata of an assignment: each instance with an
// application.server and its active and standby (and warm-up) tasks.
func HostsOf(clients map[string]*AssignmentClient, endpoints map[string]string, result AssignmentPlan) []HostTasks {
	var hosts []HostTasks
	for process, ep := range endpoints {
		h := HostTasks{Endpoint: ep}
		for _, m := range clients[process].Members {
			mt := result.Members[m.ID]
			h.Active = append(h.Active, mt.Active...)
			h.Standby = append(h.Standby, mt.Standby...)
			h.Standby = append(h.Standby, mt.Warmup...)
		}
		h.Active, h.Standby = SortedTasks(h.Active), SortedTasks(h.Standby)
		hosts = append(hosts, h)
	}
	sort.Slice(hosts, func(i, j int) bool {
		if hosts[i].Endpoint != hosts[j].Endpoint {
			return hosts[i].Endpoint < hosts[j].Endpoint
		}
		return fmt.Sprint(hosts[i].Active) < fmt.Sprint(hosts[j].Active)
	})
	return hosts
}
