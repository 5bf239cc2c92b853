package topology_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/rivulet-io/rivulet/topology"
)

// TestSVG draws a two-node topology: the picture is well-formed XML with
// one group per node carrying its name, the topics, and the notes.
func TestSVG(t *testing.T) {
	tp := topology.New()
	if err := tp.AddSource("src", nil, "in<put>"); err != nil {
		t.Fatal(err)
	}
	if err := tp.AddProcessor("proc", nil, "src"); err != nil {
		t.Fatal(err)
	}
	if err := tp.AddSink("sink", "out", nil, "proc"); err != nil {
		t.Fatal(err)
	}
	svg := tp.Describe().SVG(map[string]string{"proc": "5 records, 1.0/s"})
	var doc struct {
		XMLName xml.Name
		Subs    []struct {
			Nodes []struct {
				Node string `xml:"data-node,attr"`
				Kind string `xml:"data-kind,attr"`
			} `xml:"g"`
		} `xml:"g"`
		Edges []struct{} `xml:"line"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	var got []string
	for _, s := range doc.Subs {
		for _, n := range s.Nodes {
			got = append(got, n.Node+":"+n.Kind)
		}
	}
	if strings.Join(got, " ") != "src:Source proc:Processor sink:Sink" || len(doc.Edges) != 2 {
		t.Fatalf("nodes %v, %d edges\n%s", got, len(doc.Edges), svg)
	}
	for _, want := range []string{"topics: in&lt;put&gt;", "topic: out", "5 records, 1.0/s"} {
		if !strings.Contains(svg, want) {
			t.Errorf("no %q in\n%s", want, svg)
		}
	}
}
