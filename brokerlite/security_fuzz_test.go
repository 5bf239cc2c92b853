package brokerlite

import (
	"testing"
)

// FuzzSecuritySettings: any listeners, protocol map and security properties are accepted
// or refused with an error, never a panic; accepted ones give listeners with protocols.
func FuzzSecuritySettings(f *testing.F) {
	f.Add("PLAINTEXT://127.0.0.1:0,SASL_SSL://:9094", "", "PLAIN", "org.x required user_a=\"b\";")
	f.Add("CLIENT://h:1", "CLIENT:SASL_PLAINTEXT", "SCRAM-SHA-256", "")
	f.Add("a://[::1]:80,b://x:70000", "A:SSL,B:PLAINTEXT", "", "")
	f.Fuzz(func(t *testing.T, listeners, protoMap, mechs, jaas string) {
		props := map[string]string{"listeners": listeners, "log.dirs": "/nonexistent"}
		if protoMap != "" {
			props["listener.security.protocol.map"] = protoMap
		}
		if mechs != "" {
			props["sasl.enabled.mechanisms"] = mechs
		}
		if jaas != "" {
			props["sasl.jaas.config"] = jaas
		}
		s, _, err := ParseSettings(Config{Properties: props})
		if err != nil {
			return
		}
		if len(s.Listeners) == 0 {
			t.Fatal("accepted settings without a listener")
		}
		for _, l := range s.Listeners {
			if _, ok := defaultProtocolMap[l.Protocol]; !ok {
				t.Fatalf("listener %s has protocol %q", l.Name, l.Protocol)
			}
			if l.SASLEnabled() && len(l.SASLMechanisms) == 0 {
				t.Fatalf("SASL listener %s without mechanisms", l.Name)
			}
		}
	})
}
