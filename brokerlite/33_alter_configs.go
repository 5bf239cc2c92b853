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
		var err error
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			configs := map[string]string{}
			for _, c := range rr.Configs {
				if _, dup := configs[c.Name]; dup {
					err = newTopicError(kerr.InvalidRequest, "config %s is given twice", c.Name)
					break
				}
				if c.Value == nil {
					err = newTopicError(kerr.InvalidConfig, "config %s has a null value", c.Name)
					break
				}
				configs[c.Name] = *c.Value
			}
			if err == nil {
				err = alterTopicConfigs(b, rr.ResourceName, configs, req.ValidateOnly)
			}
		case kmsg.ConfigResourceTypeBroker:
			err = staticBrokerConfigError()
		default:
			err = newTopicError(kerr.InvalidRequest, "resource type %v is not supported by brokerlite", rr.ResourceType)
		}
		if err != nil {
			code, msg := errorCode(err)
			sr.ErrorCode, sr.ErrorMessage = code, &msg
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func staticBrokerConfigError() error {
	return newTopicError(kerr.InvalidRequest, "brokerlite's broker configs are static: edit server.properties (or pass --override) and restart the broker")
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
