package harness

import (
	"context"
	"fmt"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
)

// gokaTable is the group table of a goka case's processor group; goka
// names it "<group>-table".
func gokaTable(group string) string { return string(goka.GroupTable(goka.Group(group))) }

// startGokaCase runs case c as one goka processor of group, reading the
// case's inputs and writing to out (a stream, or for the counts the group
// table, which goka writes every update of). observe receives what a case
// without a sink produces.
func startGokaCase(gc *gokaConfig, c ssbCase, group, out string, observe func(key, value []byte)) (*gokaRun, error) {
	in := goka.Stream(c.inputs[0])
	bytesCodec := new(codec.Bytes)
	var edges []goka.Edge
	switch c.name {
	case CaseConsume:
		edges = append(edges, goka.Input(in, bytesCodec, func(ctx goka.Context, msg any) {
			observe([]byte(ctx.Key()), msg.([]byte))
		}))
	case CaseConsumeProduce:
		edges = append(edges, goka.Input(in, bytesCodec, func(ctx goka.Context, msg any) {
			ctx.Emit(goka.Stream(out), ctx.Key(), msg)
		}), goka.Output(goka.Stream(out), bytesCodec))
	case CaseStreamProcess:
		edges = append(edges, goka.Input(in, bytesCodec, func(ctx goka.Context, msg any) {
			if v := msg.([]byte); ssbKeep(v) {
				observe([]byte(ctx.Key()), ssbTransform(v))
			}
		}))
	case CaseStreamProcessSink:
		edges = append(edges, goka.Input(in, bytesCodec, func(ctx goka.Context, msg any) {
			if v := msg.([]byte); ssbKeep(v) {
				ctx.Emit(goka.Stream(out), ctx.Key(), ssbTransform(v))
			}
		}), goka.Output(goka.Stream(out), bytesCodec))
	case CaseStreamProcessStore:
		edges = append(edges, goka.Input(in, bytesCodec, func(ctx goka.Context, msg any) {
			ctx.SetValue(msg)
			observe([]byte(ctx.Key()), msg.([]byte))
		}), goka.Persist(bytesCodec))
	case CaseStreamCount, CaseStreamCountDistinctKey:
		edges = append(edges, goka.Input(in, bytesCodec, func(ctx goka.Context, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}), goka.Persist(int64Codec{}))
	case CaseStreamTableJoin:
		table := goka.Table(c.inputs[1])
		edges = append(edges, goka.Input(in, bytesCodec, func(ctx goka.Context, msg any) {
			if tv := ctx.Join(table); tv != nil {
				ctx.Emit(goka.Stream(out), ctx.Key(), ssbJoinValue(msg.([]byte), tv.([]byte)))
			}
		}), goka.Join(table, bytesCodec), goka.Output(goka.Stream(out), bytesCodec))
	default:
		return nil, fmt.Errorf("harness: streams: goka has no %s program", c.name)
	}
	g := goka.DefineGroup(goka.Group(group), edges...)
	p, err := goka.NewProcessor(gc.brokers, g, gc.processorOptions(g.Group())...)
	if err != nil {
		return nil, fmt.Errorf("harness: goka processor %s: %w", group, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gr := &gokaRun{cancel: cancel}
	gr.run(ctx, p)
	return gr, nil
}
