package brokerlite

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestEncodeFetchSpliced checks that the spliced Fetch answer (records written from their
// own buffers) is byte for byte the plain encoding, at every Fetch version served.
func TestEncodeFetchSpliced(t *testing.T) {
	for v := handlers[int16(kmsg.Fetch)].min; v <= handlers[int16(kmsg.Fetch)].max; v++ {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			resp := kmsg.NewPtrFetchResponse()
			resp.Version = v
			for ti := 0; ti < 3; ti++ {
				rt := kmsg.NewFetchResponseTopic()
				rt.Topic = fmt.Sprint("topic-", ti)
				rt.TopicID = [16]byte{byte(ti + 1)}
				for pi := 0; pi < 3; pi++ {
					rp := kmsg.NewFetchResponseTopicPartition()
					rp.Partition = int32(pi)
					rp.HighWatermark = 1000
					if (ti+pi)%2 == 0 { // some partitions without records
						rp.RecordBatches = bytes.Repeat([]byte{byte(ti*3 + pi)}, 100+ti*300+pi*7)
					}
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			want := encodeResponse(nil, 42, resp)
			frame, bufs := encodeFetchSpliced(nil, 42, resp)
			if bufs == nil {
				t.Fatal("nothing spliced")
			}
			var got []byte
			for _, b := range bufs {
				got = append(got, b...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("spliced answer differs from the plain encoding (%d vs %d bytes)", len(got), len(want))
			}
			if len(frame) >= len(want) {
				t.Fatalf("records were copied into the frame (%d bytes)", len(frame))
			}
			// The response is left as it was.
			if again := encodeResponse(nil, 42, resp); !bytes.Equal(again, want) {
				t.Fatal("encodeFetchSpliced changed the response")
			}
		})
	}
}
