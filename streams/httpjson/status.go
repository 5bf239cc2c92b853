package httpjson

// StatusView is Status as the HTTP endpoint serves it: states and task ids
// as text, lags as numbers (-1 when unknown).
type StatusView struct {
	ApplicationID string         `json:"application_id"`
	State         string         `json:"state"`
	Instances     []InstanceView `json:"instances"`
	// Restores are this instance's store restores in flight.
	Restores []RestoreView `json:"restores"`
}

// InstanceView is one instance of StatusView.
type InstanceView struct {
	Endpoint string     `json:"endpoint"`
	Local    bool       `json:"local,omitempty"`
	Threads  []string   `json:"threads,omitempty"`
	Active   []TaskView `json:"active"`
	Standby  []TaskView `json:"standby"`
}

// TaskView is one task of InstanceView.
type TaskView struct {
	ID         string   `json:"id"`
	Threads    []string `json:"threads,omitempty"`
	State      string   `json:"state,omitempty"`
	Partitions []string `json:"partitions,omitempty"`
	// InputLag and ChangelogLag are -1 when unknown (remote instances).
	InputLag     int64 `json:"input_lag"`
	ChangelogLag int64 `json:"changelog_lag"`
}

// RestoreView is one store restore in flight.
type RestoreView struct {
	Thread           string  `json:"thread"`
	Task             string  `json:"task"`
	Store            string  `json:"store"`
	Changelog        string  `json:"changelog"`
	StartOffset      int64   `json:"start_offset"`
	EndOffset        int64   `json:"end_offset"`
	Restored         int64   `json:"restored"`
	Remaining        int64   `json:"remaining"`
	RecordsPerSecond float64 `json:"records_per_second"`
}

// TopologyView is the topology as JSON, for drawing it with live counts.
type TopologyView struct {
	ApplicationID string                `json:"application_id"`
	Subtopologies []SubtopologyView     `json:"subtopologies"`
	Stores        map[string]string     `json:"stores"`
	Counts        map[string]NodeCounts `json:"counts"`
}

// SubtopologyView is one sub-topology of TopologyView.
type SubtopologyView struct {
	ID          int        `json:"id"`
	Global      bool       `json:"global,omitempty"`
	GlobalStore string     `json:"global_store,omitempty"`
	Nodes       []NodeView `json:"nodes"`
}

// NodeView is one node of TopologyView.
type NodeView struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Topics     []string `json:"topics,omitempty"`
	Topic      string   `json:"topic,omitempty"`
	Stores     []string `json:"stores,omitempty"`
	Successors []string `json:"successors,omitempty"`
}

// NodeCounts are a node's records processed on this instance, and the
// rate over the last minute (records per second), when processor-node
// metrics are recorded (metrics.recording.level DEBUG or TRACE).
type NodeCounts struct {
	Processed int64   `json:"processed"`
	Rate      float64 `json:"rate"`
}
