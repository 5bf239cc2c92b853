package brokerlite

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKeepAllowed: the denied items leave the request in order, each answered once with
// the code its check gave; the allowed ones stay, in order, in the same backing array.
func TestKeepAllowed(t *testing.T) {
	items := []string{"a", "x1", "b", "x2", "c"}
	backing := &items[0]
	denied := keepAllowedCode(&items,
		func(s string) (bool, int16) {
			if s[0] == 'x' {
				return false, int16(len(s) * 10)
			}
			return true, 0
		},
		func(s string, code int16) [2]any { return [2]any{s, code} })
	if !slices.Equal(items, []string{"a", "b", "c"}) || &items[0] != backing {
		t.Fatalf("kept %v (in place: %v)", items, &items[0] == backing)
	}
	if want := [][2]any{{"x1", int16(20)}, {"x2", int16(20)}}; !slices.Equal(denied, want) {
		t.Fatalf("denied %v, want %v", denied, want)
	}
	all := []string{"a", "b"}
	if d := keepAllowed(&all, func(string) bool { return true }, func(s string) string { return s }); d != nil || len(all) != 2 {
		t.Fatalf("nothing denied: kept %v, denied %v", all, d)
	}
}

// TestRefuseUnless: an allowed request passes untouched; a denied one is answered whole.
func TestRefuseUnless(t *testing.T) {
	req := kmsg.NewPtrHeartbeatRequest()
	set := func(r *kmsg.HeartbeatResponse) { r.ErrorCode = codeGroupAuth }
	if resp, fix := refuseUnless(true, req, set); resp != nil || fix != nil {
		t.Fatalf("allowed: %v, %v", resp, fix != nil)
	}
	resp, fix := refuseUnless(false, req, set)
	hb, ok := resp.(*kmsg.HeartbeatResponse)
	if !ok || hb.ErrorCode != codeGroupAuth || fix != nil {
		t.Fatalf("denied: %#v, %v", resp, fix != nil)
	}
}
