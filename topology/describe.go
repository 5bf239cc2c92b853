package topology

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Description is a snapshot of a topology for people: String prints it as
// Kafka Streams' TopologyDescription does, Mermaid and DOT draw it.
type Description struct {
	// Subtopologies are the regular and global sub-topologies, by ID.
	Subtopologies []SubtopologyDescription
}

// SubtopologyDescription describes one sub-topology.
type SubtopologyDescription struct {
	ID int
	// Global is true for a global store's sub-topology; GlobalStore names
	// the store.
	Global      bool
	GlobalStore string
	// Nodes are in Kafka Streams' print order: the node with the most
	// descendants first, ties broken by name.
	Nodes []NodeDescription
}

// NodeDescription describes one node, with its neighbours in print order.
type NodeDescription struct {
	Name         string
	Kind         NodeKind
	Topics       []string // source
	Pattern      string   // source
	Stores       []string // processor, sorted
	Topic        string   // sink with a fixed topic
	TopicChooser string   // sink with a topic chooser
	Successors   []string
	Predecessors []string
}

// Describe returns a description of the topology as it is now.
func (t *Topology) Describe() Description {
	var d Description
	for _, s := range t.Subtopologies() {
		sd := SubtopologyDescription{ID: s.ID, Global: s.Global}
		if s.Global && len(s.Stores) > 0 {
			sd.GlobalStore = s.Stores[0]
		}
		// size(n) = 1 + sum of the sizes of n's children, as Kafka Streams
		// computes it for its print order.
		size := make(map[string]int, len(s.Nodes))
		var sizeOf func(string) int
		sizeOf = func(n string) int {
			if v, ok := size[n]; ok {
				return v
			}
			v := 1
			for _, c := range t.nodes[n].Children {
				v += sizeOf(c)
			}
			size[n] = v
			return v
		}
		less := func(a, b string) bool {
			sa, sb := sizeOf(a), sizeOf(b)
			if sa != sb {
				return sa > sb
			}
			return a < b
		}
		sorted := func(names []string) []string {
			out := append([]string(nil), names...)
			sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
			return out
		}
		for _, name := range sorted(s.Nodes) {
			n := t.nodes[name]
			nd := NodeDescription{
				Name:         name,
				Kind:         n.Kind,
				Topics:       append([]string(nil), n.Topics...),
				Topic:        n.Topic,
				TopicChooser: n.TopicChooser,
				Successors:   sorted(n.Children),
				Predecessors: sorted(n.Parents),
			}
			if n.Pattern != nil {
				nd.Pattern = n.Pattern.String()
			}
			nd.Stores = append([]string(nil), n.Stores...)
			sort.Strings(nd.Stores)
			sd.Nodes = append(sd.Nodes, nd)
		}
		d.Subtopologies = append(d.Subtopologies, sd)
	}
	return d
}

func names(ns []string) string {
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ", ")
}

// String prints the node the way Kafka Streams prints a TopologyDescription
// node.
func (n NodeDescription) String() string {
	var b strings.Builder
	switch n.Kind {
	case SourceNode:
		if n.Pattern != "" {
			fmt.Fprintf(&b, "Source: %s (topics: %s)", n.Name, n.Pattern)
		} else {
			fmt.Fprintf(&b, "Source: %s (topics: [%s])", n.Name, strings.Join(n.Topics, ", "))
		}
		fmt.Fprintf(&b, "\n      --> %s", names(n.Successors))
	case ProcessorNode:
		fmt.Fprintf(&b, "Processor: %s (stores: [%s])", n.Name, strings.Join(n.Stores, ", "))
		fmt.Fprintf(&b, "\n      --> %s\n      <-- %s", names(n.Successors), names(n.Predecessors))
	case SinkNode:
		if n.TopicChooser != "" {
			fmt.Fprintf(&b, "Sink: %s (extractor class: %s)", n.Name, n.TopicChooser)
		} else {
			fmt.Fprintf(&b, "Sink: %s (topic: %s)", n.Name, n.Topic)
		}
		fmt.Fprintf(&b, "\n      <-- %s", names(n.Predecessors))
	}
	return b.String()
}

// String prints the sub-topology as Kafka Streams does.
func (s SubtopologyDescription) String() string {
	var b strings.Builder
	if s.Global {
		fmt.Fprintf(&b, "Sub-topology: %d for global store (will not generate tasks)\n", s.ID)
	} else {
		fmt.Fprintf(&b, "Sub-topology: %d\n", s.ID)
	}
	for _, n := range s.Nodes {
		b.WriteString("    ")
		b.WriteString(n.String())
		b.WriteString("\n")
	}
	return b.String()
}

// String prints the whole description in Kafka Streams' format:
//
//	Topologies:
//	   Sub-topology: 0
//	    Source: KSTREAM-SOURCE-0000000000 (topics: [input])
//	      --> KSTREAM-FILTER-0000000001
//	    ...
func (d Description) String() string {
	var b strings.Builder
	b.WriteString("Topologies:\n ")
	for _, s := range d.Subtopologies {
		b.WriteString("  ")
		b.WriteString(s.String())
		if !s.Global {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func mermaidID(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range name {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteString("_" + strconv.FormatInt(int64(r), 16) + "_")
		}
	}
	return b.String()
}

func mermaidLabel(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

// Mermaid draws the topology as a Mermaid flowchart: one box per
// sub-topology, topics as parallelograms, stores as cylinders.
func (d Description) Mermaid() string {
	id := func(prefix string) func(string) string {
		return func(name string) string { return mermaidID(prefix, name) }
	}
	return d.draw(graphStyle{
		header: "flowchart TD\n",
		subgraph: func(sub int, title string) string {
			return fmt.Sprintf("  subgraph %s[\"%s\"]\n", mermaidID("sub", strconv.Itoa(sub)), mermaidLabel(title))
		},
		subgraphEnd: "  end\n",
		nodeID:      id("n_"),
		topicID:     id("t_"),
		storeID:     id("s_"),
		node: func(name string) string {
			return fmt.Sprintf("    %s[\"%s\"]\n", mermaidID("n_", name), mermaidLabel(name))
		},
		topic:     func(tp string) string { return fmt.Sprintf("  %s[/\"%s\"/]\n", mermaidID("t_", tp), mermaidLabel(tp)) },
		store:     func(st string) string { return fmt.Sprintf("  %s[(\"%s\")]\n", mermaidID("s_", st), mermaidLabel(st)) },
		edge:      "  %s --> %s\n",
		storeEdge: "  %s -.- %s\n",
	})
}

// DOT draws the topology in Graphviz's DOT language: one cluster per
// sub-topology, topics as parallelograms, stores as cylinders.
func (d Description) DOT() string {
	q := strconv.Quote
	return d.draw(graphStyle{
		header: "digraph topology {\n  rankdir=TB;\n  node [shape=box];\n",
		footer: "}\n",
		subgraph: func(sub int, title string) string {
			return fmt.Sprintf("  subgraph %s {\n    label=%s;\n", q("cluster_"+strconv.Itoa(sub)), q(title))
		},
		subgraphEnd: "  }\n",
		nodeID:      q,
		topicID:     func(tp string) string { return q("topic:" + tp) },
		storeID:     func(st string) string { return q("store:" + st) },
		node:        func(name string) string { return fmt.Sprintf("    %s;\n", q(name)) },
		topic: func(tp string) string {
			return fmt.Sprintf("  %s [shape=parallelogram, label=%s];\n", q("topic:"+tp), q(tp))
		},
		store: func(st string) string {
			return fmt.Sprintf("  %s [shape=cylinder, label=%s];\n", q("store:"+st), q(st))
		},
		edge:      "  %s -> %s;\n",
		storeEdge: "  %s -> %s [style=dashed, dir=none];\n",
	})
}

// graphStyle is how one diagram language writes the parts of a drawing of the topology.
type graphStyle struct {
	header, footer string
	// subgraph opens the box of a sub-topology, subgraphEnd closes it.
	subgraph    func(sub int, title string) string
	subgraphEnd string
	// nodeID, topicID and storeID name the vertices in edges.
	nodeID, topicID, storeID func(name string) string
	// node, topic and store declare a vertex.
	node, topic, store func(name string) string
	// edge and storeEdge are formats for an edge from one vertex to another (%s, %s):
	// records flowing, and a processor's access to a store.
	edge, storeEdge string
}

// draw writes the topology in style: the sub-topologies with their nodes, then the
// topics and stores (sorted), then the edges.
func (d Description) draw(style graphStyle) string {
	var b strings.Builder
	b.WriteString(style.header)
	topics := map[string]bool{}
	stores := map[string]bool{}
	var edges []string
	edge := func(format, from, to string) { edges = append(edges, fmt.Sprintf(format, from, to)) }
	for _, s := range d.Subtopologies {
		title := fmt.Sprintf("Sub-topology: %d", s.ID)
		if s.Global {
			title += " (global store " + s.GlobalStore + ")"
		}
		b.WriteString(style.subgraph(s.ID, title))
		for _, n := range s.Nodes {
			b.WriteString(style.node(n.Name))
			for _, c := range n.Successors {
				edge(style.edge, style.nodeID(n.Name), style.nodeID(c))
			}
			switch n.Kind {
			case SourceNode:
				src := n.Topics
				if n.Pattern != "" {
					src = []string{n.Pattern}
				}
				for _, tp := range src {
					topics[tp] = true
					edge(style.edge, style.topicID(tp), style.nodeID(n.Name))
				}
			case SinkNode:
				tp := n.Topic
				if n.TopicChooser != "" {
					tp = "(" + n.TopicChooser + ")"
				}
				topics[tp] = true
				edge(style.edge, style.nodeID(n.Name), style.topicID(tp))
			}
			for _, st := range n.Stores {
				stores[st] = true
				edge(style.storeEdge, style.nodeID(n.Name), style.storeID(st))
			}
		}
		b.WriteString(style.subgraphEnd)
	}
	for _, tp := range sortedKeys(topics) {
		b.WriteString(style.topic(tp))
	}
	for _, st := range sortedKeys(stores) {
		b.WriteString(style.store(st))
	}
	for _, e := range edges {
		b.WriteString(e)
	}
	b.WriteString(style.footer)
	return b.String()
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
