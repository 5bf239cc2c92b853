package brokerlite

// ListGroups (key 16), versions 0-5.
//
// Lists every group the coordinator holds, including groups used only to store offsets
// (empty protocol type), sorted by name. v4+ filter by state, case-insensitively as Kafka
// does (an unknown state name matches nothing); v5+ filter by group type, and every group
// here is a "classic" one.

import (
	"context"
	"strings"

	"github.com/rivulet-io/rivulet/brokerlite/groupcoord"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.ListGroups, 0, 5, handleListGroups) }

func handleListGroups(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	c := b.coordinator()
	if c == nil {
		return nil, errNoCoordinator
	}
	var states map[groupcoord.GroupState]bool
	if req.Version >= 4 && len(req.StatesFilter) > 0 {
		states = map[groupcoord.GroupState]bool{}
		for _, s := range req.StatesFilter {
			if st, ok := groupcoord.ParseGroupState(s); ok {
				states[st] = true
			}
		}
	}
	if req.Version >= 5 && len(req.TypesFilter) > 0 {
		classic := false
		for _, t := range req.TypesFilter {
			classic = classic || strings.EqualFold(t, "classic")
		}
		if !classic {
			return resp, nil
		}
	}
	for _, g := range c.ListGroups() {
		if states != nil && !states[g.State] {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = g.Group, g.ProtocolType, g.State.String(), "classic"
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
