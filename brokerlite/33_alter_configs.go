package brokerlite

// AlterConfigs (key 33), versions 0-2.
//
// The legacy, non-incremental form: the given configs replace all of a topic's overrides
// (a config left out returns to its default). Values are validated before anything changes
// (INVALID_CONFIG); validate_only changes nothing. The new overrides are persisted with the
// topic and applied to its partition logs. Broker resources are refused (INVALID_REQUEST):
// brokerlite's broker configs are static, read from server.properties at start.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.AlterConfigs, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(_ context.Context, b *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range req.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		sr.ErrorCode, sr.ErrorMessage = errorFields(alterResourceConfigs(rr.ResourceType, func() error {
			return replaceTopicConfigs(b, rr, req.ValidateOnly)
		}))
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// replaceTopicConfigs makes the resource's configs the topic's whole set of overrides.
func replaceTopicConfigs(b *Broker, rr kmsg.AlterConfigsRequestResource, validateOnly bool) error {
	configs := map[string]string{}
	for _, c := range rr.Configs {
		if _, dup := configs[c.Name]; dup {
			return newTopicError(kerr.InvalidRequest, "config %s is given twice", c.Name)
		}
		if c.Value == nil {
			return newTopicError(kerr.InvalidRequest, "config %s has a null value", c.Name) // as Kafka
		}
		configs[c.Name] = *c.Value
	}
	return alterTopicConfigs(b, rr.ResourceName, configs, validateOnly)
}

// alterResourceConfigs is the outcome of altering one resource's configs, for AlterConfigs
// and IncrementalAlterConfigs alike: alterTopic for a topic; broker configs are static.
func alterResourceConfigs(typ kmsg.ConfigResourceType, alterTopic func() error) error {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		return alterTopic()
	case kmsg.ConfigResourceTypeBroker:
		return newTopicError(kerr.InvalidRequest, "brokerlite's broker configs are static: edit server.properties (or pass --override) and restart the broker")
	default:
		return newTopicError(kerr.InvalidRequest, "resource type %v is not supported by brokerlite", typ)
	}
}

func alterTopicConfigs(b *Broker, name string, configs map[string]string, validateOnly bool) error {
	if err := validTopicName(name); err != nil {
		return err
	}
	t := b.topics.get(name)
	if t == nil {
		return newTopicError(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
	}
	if t.internal {
		// The coordinator relies on __consumer_offsets being compacted.
		if p, ok := configs["cleanup.policy"]; ok && p != "compact" {
			return newTopicError(kerr.InvalidConfig, "internal topic %s must keep cleanup.policy=compact", name)
		}
		if _, ok := configs["cleanup.policy"]; !ok {
			configs["cleanup.policy"] = "compact"
		}
	}
	return b.topics.setConfigs(name, configs, validateOnly)
}
