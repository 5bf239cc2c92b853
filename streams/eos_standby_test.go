package streams_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivulet-io/rivulet/internal/testutil"
	"github.com/rivulet-io/rivulet/streams"
)

// TestExactlyOnceStandbyReachesLagZero: under exactly_once_v2 every
// transaction ends with a marker in the changelogs; a standby that read
// everything (up to the last stable offset, the last marker included) has
// lag 0, not 1.
func TestExactlyOnceStandbyReachesLagZero(t *testing.T) {
	for _, br := range []broker{startBrokerlite(t), kfakeCluster3(t)} {
		t.Run(br.name, func(t *testing.T) {
			requireTransactions(t, br)
			id, in, out := uniqTopics(t, br.addrs, "eos-standby", 2)
			topo := buildWordCount(t, in, out)
			mk := func() *streams.App {
				return startApp(t, topo, streams.Properties{
					"application.id": id, "bootstrap.servers": strings.Join(br.addrs, ","), "state.dir": t.TempDir(),
					"processing.guarantee": "exactly_once_v2", "num.standby.replicas": "1",
				})
			}
			a1, a2 := mk(), mk()
			ls := distinctWords("w", 200)
			want := map[string]int64{}
			produceWords(t, br.addrs, in, out, want, ls...)
			standbys := func() []streams.StandbyChangelog {
				var cs []streams.StandbyChangelog
				for _, app := range []*streams.App{a1, a2} {
					for _, st := range streams.StandbyTasks(app) {
						cs = append(cs, st.Changelogs...)
					}
				}
				return cs
			}
			testutil.EventuallyNoError(t, 30*time.Second, "a standby of each counting task at lag 0", func() error {
				cs := standbys()
				if len(cs) != 2 { // a standby of each counting task
					return fmt.Errorf("standby changelogs %v", cs)
				}
				for _, c := range cs {
					if c.Lag != 0 || c.Next == 0 {
						return fmt.Errorf("standby changelogs %v", cs)
					}
				}
				return nil
			})
		})
	}
}
