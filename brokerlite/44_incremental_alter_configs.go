package brokerlite

// IncrementalAlterConfigs (key 44), versions 0-1.
//
// Changes a topic's overrides one config at a time: SET (0), DELETE (1, back to the
// default), APPEND (2) and SUBTRACT (3), the last two only for list configs
// (cleanup.policy). The result is validated as a whole before anything changes
// (INVALID_CONFIG), a config named twice in one resource is INVALID_REQUEST, and
// validate_only changes nothing. Broker resources are refused: broker configs are static.

import (
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.IncrementalAlterConfigs, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		sr.ErrorCode, sr.ErrorMessage = errorFields(alterResourceConfigs(rr.ResourceType, func() error {
			return incrementalAlterTopic(b, rr, req.ValidateOnly)
		}))
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func incrementalAlterTopic(b *Broker, rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	if err := validTopicName(rr.ResourceName); err != nil {
		return err
	}
	t := b.topics.get(rr.ResourceName)
	if t == nil {
		return newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", rr.ResourceName)
	}
	configs := make(map[string]string, len(t.configs))
	for k, v := range t.configs {
		configs[k] = v
	}
	seen := map[string]bool{}
	for _, c := range rr.Configs {
		if seen[c.Name] {
			return newTopicError(kerr.InvalidRequest, "config %s is named twice", c.Name)
		}
		seen[c.Name] = true
		if c.Value == nil && c.Op != kmsg.IncrementalAlterConfigOpDelete {
			// As Kafka: only DELETE goes without a value.
			return newTopicError(kerr.InvalidRequest, "%v of %s needs a value", c.Op, c.Name)
		}
		key, ok := topicKeyIndex[c.Name]
		if !ok {
			if c.Op == kmsg.IncrementalAlterConfigOpDelete {
				continue // nothing to delete, as Kafka answers it
			}
			return newTopicError(kerr.InvalidConfig, "unknown topic config %q", c.Name)
		}
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			configs[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(configs, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if key.kind != kmsg.ConfigTypeList {
				return newTopicError(kerr.InvalidConfig, "%v is only for list configs; %s is not a list", c.Op, c.Name)
			}
			cur, _, _ := b.topicConfigValue(t, c.Name)
			list := splitList(cur)
			arg := splitList(*c.Value)
			if c.Op == kmsg.IncrementalAlterConfigOpAppend {
				for _, a := range arg {
					if !slices.Contains(list, a) {
						list = append(list, a)
					}
				}
			} else {
				kept := list[:0]
				for _, v := range list {
					if !slices.Contains(arg, v) {
						kept = append(kept, v)
					}
				}
				list = kept
			}
			configs[c.Name] = strings.Join(list, ",")
		default:
			return newTopicError(kerr.InvalidRequest, "unknown operation %d for %s", c.Op, c.Name)
		}
	}
	return alterTopicConfigs(b, rr.ResourceName, configs, validateOnly)
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
