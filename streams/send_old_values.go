package streams

// Old values (Kafka Streams' sendOldValues).
//
// A table's updates flow downstream as change{new, old}. Only some
// consumers look at the old side: aggregations with a subtractor (a
// table's GroupBy), table-table joins, foreign-key joins, suppression,
// table filters (to turn a rejected update into a delete only when the key
// was visible before). Others, such as ToStream (every word count), read the
// new value only. A cached table store reads the store's old value when it
// flushes an entry; it skips that read when no processor downstream of the
// store's processor uses old values. Kafka Streams decides the same thing
// at build time through KTableProcessorSupplier.enableSendingOldValues; here
// each processor says how it uses old values (oldValueUser), and the task
// walks its wiring once, when a store's processor registers its flush
// listener. Unknown processors (sinks, user code, any operator not listed)
// count as needing old values, so a new operator is correct by default and
// only its speed depends on saying otherwise. MapValuesTable and an
// unmaterialized TransformValuesTable pass old values on: they map or
// transform one only when a processor after them reads it, so a user
// function runs once per update where nothing does.

// oldValueUse is how a node uses the old side of the changes it receives.
type oldValueUse uint8

const (
	// oldValuesNeeded: the node reads old values (the default).
	oldValuesNeeded oldValueUse = iota
	// oldValuesIgnored: the node reads only new values.
	oldValuesIgnored
	// oldValuesPassedOn: the node maps old values through to its children;
	// it needs them when one of its children does.
	oldValuesPassedOn
)

// oldValueUser is implemented by processors (and nodes) that say how they
// use old values.
type oldValueUser interface {
	oldValueUse() oldValueUse
}

func (*toStreamProc[K, V]) oldValueUse() oldValueUse { return oldValuesIgnored }

func (*tableMapValuesProc[K, V, VR]) oldValueUse() oldValueUse { return oldValuesPassedOn }

// A materialized transform reads the old value from its own store; an
// unmaterialized one transforms the old value it receives.
func (p *tableTransformProc[K, V, VR]) oldValueUse() oldValueUse {
	if p.store != "" {
		return oldValuesIgnored
	}
	return oldValuesPassedOn
}

// sendsOldValues reports, from the Init of a processor that passes old
// values on, whether a processor downstream of it reads them: if none
// does, the processor does not compute them (Kafka Streams' sendOldValues
// left off), so a function with side effects runs once per update. A
// context that is not a task's node counts as needing them.
func sendsOldValues(ctx any) bool {
	n, ok := ctx.(interface {
		taskOf() *streamTask
		nodeName() string
	})
	if !ok || n.taskOf() == nil {
		return true
	}
	return n.taskOf().childrenNeedOldValues(n.nodeName())
}

// oldValueUse of a processor node is its processor's.
func (n *processorNode[KIn, VIn, KOut, VOut]) oldValueUse() oldValueUse {
	if u, ok := any(n.proc).(oldValueUser); ok {
		return u.oldValueUse()
	}
	return oldValuesNeeded
}

// childrenNeedOldValues reports whether any child of node (a node of this
// task's sub-topology), or any node the children pass old values on to,
// reads old values. An unknown node needs them.
func (t *streamTask) childrenNeedOldValues(node string) bool {
	tn := t.topo.t.Node(node)
	if tn == nil {
		return true
	}
	for _, c := range tn.Children {
		if t.nodeNeedsOldValues(c, 0) {
			return true
		}
	}
	return false
}

func (t *streamTask) nodeNeedsOldValues(name string, depth int) bool {
	rn, ok := t.byName[name]
	if !ok || depth > len(t.nodes) {
		return true // not wired in this task, or a cycle: be safe
	}
	u, ok := rn.(oldValueUser)
	if !ok {
		return true
	}
	switch u.oldValueUse() {
	case oldValuesIgnored:
		return false
	case oldValuesPassedOn:
		tn := t.topo.t.Node(name)
		if tn == nil {
			return true
		}
		for _, c := range tn.Children {
			if t.nodeNeedsOldValues(c, depth+1) {
				return true
			}
		}
		return false
	default:
		return true
	}
}
