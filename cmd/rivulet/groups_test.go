package main

import (
	"strings"
	"testing"
	"time"
)

func TestResetNewOffset(t *testing.T) {
	ps := partitionState{start: 10, end: 100, committed: 50, atTime: 70}
	noCommit := partitionState{start: 10, end: 100, committed: -1, atTime: -1}
	cases := []struct {
		name string
		spec resetSpec
		ps   partitionState
		want int64
		err  string
	}{
		{"earliest", resetSpec{kind: resetEarliest}, ps, 10, ""},
		{"latest", resetSpec{kind: resetLatest}, ps, 100, ""},
		{"current", resetSpec{kind: resetCurrent}, ps, 50, ""},
		{"current without commit", resetSpec{kind: resetCurrent}, noCommit, 0, "no committed offset"},
		{"to offset", resetSpec{kind: resetToOffset, offset: 42}, ps, 42, ""},
		{"to offset below start", resetSpec{kind: resetToOffset, offset: 3}, ps, 10, ""},
		{"to offset above end", resetSpec{kind: resetToOffset, offset: 1000}, ps, 100, ""},
		{"shift back", resetSpec{kind: resetShiftBy, shift: -5}, ps, 45, ""},
		{"shift forward past end", resetSpec{kind: resetShiftBy, shift: 500}, ps, 100, ""},
		{"shift back past start", resetSpec{kind: resetShiftBy, shift: -500}, ps, 10, ""},
		{"shift overflow", resetSpec{kind: resetShiftBy, shift: 1<<63 - 1}, ps, 100, ""},
		{"shift without commit", resetSpec{kind: resetShiftBy, shift: 1}, noCommit, 0, "no committed offset"},
		{"to time", resetSpec{kind: resetToTime}, ps, 70, ""},
		{"to time after the last record", resetSpec{kind: resetToTime}, noCommit, 100, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.newOffset(tc.ps)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestParseKafkaDatetime(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	cases := map[string]time.Time{
		"2026-01-02T03:04:05.678":       time.Date(2026, 1, 2, 3, 4, 5, 678e6, loc),
		"2026-01-02T03:04:05":           time.Date(2026, 1, 2, 3, 4, 5, 0, loc),
		"2026-01-02T03:04:05.678Z":      time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC),
		"2026-01-02T03:04:05.000+05:30": time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 5*3600+1800)),
		"2026-01-02T03:04:05-0100":      time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -3600)),
	}
	for in, want := range cases {
		got, err := parseKafkaDatetime(in, loc)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2026-01-02", "yesterday", "2026-13-02T00:00:00"} {
		if _, err := parseKafkaDatetime(bad, loc); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseISODuration(t *testing.T) {
	cases := map[string]time.Duration{
		"PT15M":      15 * time.Minute,
		"P1DT2H30M":  26*time.Hour + 30*time.Minute,
		"P2D":        48 * time.Hour,
		"PT1.5S":     1500 * time.Millisecond,
		"pt10s":      10 * time.Second,
		"P0DT0H0M0S": 0,
	}
	for in, want := range cases {
		got, err := parseISODuration(in)
		if err != nil || got != want {
			t.Errorf("%s: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "15M", "P1H", "PT-1S", "P99999999999999999999D"} {
		if _, err := parseISODuration(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseTopicPartitions(t *testing.T) {
	sel, err := parseTopicPartitions([]string{"a", "b:0,2", "b:5", "a:1", "c.d-e_f:3"})
	if err != nil {
		t.Fatal(err)
	}
	if sel["a"] != nil || len(sel["b"]) != 3 || sel["b"][2] != 5 || len(sel["c.d-e_f"]) != 1 {
		t.Fatalf("%v", sel)
	}
	for _, bad := range []string{"", "a:", "a:x", "a:1,", ":1"} {
		if _, err := parseTopicPartitions([]string{bad}); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func FuzzParseTimes(f *testing.F) {
	f.Add("2026-01-02T03:04:05.678Z", "P1DT2H")
	f.Add("x", "PT1.5S")
	f.Fuzz(func(t *testing.T, dt, dur string) {
		_, _ = parseKafkaDatetime(dt, time.UTC)
		if d, err := parseISODuration(dur); err == nil && d < 0 {
			t.Fatalf("negative duration %v from %q", d, dur)
		}
		_, _ = parseTopicPartitions([]string{dt})
	})
}
