package brokerlite

// ApiVersions (key 18), versions 0-4.
//
// Lists every API in the handler table with the versions brokerlite serves. A request at a
// version above 4 is answered at v0 with UNSUPPORTED_VERSION and the supported list, as
// KIP-511 requires (that path is in conn.go, before decoding). The response always uses
// response header v0, even when flexible. v3+ client software name and version are checked
// against Kafka's pattern (INVALID_REQUEST otherwise). No feature flags are advertised: the
// broker has no finalized features (no KIP-584 metadata versions apply to one node).

import (
	"context"
	"regexp"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerHandler(kmsg.ApiVersions, 0, 4, handleApiVersions) }

// softwareNameRe is Kafka's rule for ClientSoftwareName and ClientSoftwareVersion.
var softwareNameRe = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func handleApiVersions(_ context.Context, _ *Broker, _ *ConnInfo, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version >= 3 && (!softwareNameRe.MatchString(req.ClientSoftwareName) || !softwareNameRe.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	resp.ApiKeys = apiVersionKeys()
	return resp, nil
}

// apiVersionKeys lists the handler table, sorted by key.
func apiVersionKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(handlers))
	for k, h := range handlers {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MinVersion, ak.MaxVersion = k, h.min, h.max
		keys = append(keys, ak)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}
