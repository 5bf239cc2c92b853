package auth

import (
	"fmt"
	"testing"
)

// BenchmarkAuthorize measures one ACL check with n topic ACLs held (half literal, half
// prefixed, for many principals), the cost every request pays per resource when an
// authorizer is configured.
func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("acls=%d", n), func(b *testing.B) {
			a, err := NewAuthorizer(AuthorizerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			acls := make([]ACL, 0, n)
			for i := 0; i < n; i++ {
				pt := PatternLiteral
				if i%2 == 1 {
					pt = PatternPrefixed
				}
				acls = append(acls, ACL{ResourceTopic, fmt.Sprintf("topic-%d", i), pt, fmt.Sprintf("User:u%d", i%100), "*", OpRead, PermissionAllow})
			}
			for _, err := range a.Create(acls) {
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a.Authorize("User:u7", "127.0.0.1", OpRead, ResourceTopic, "topic-7")
			}
		})
	}
}
