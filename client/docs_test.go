package client

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListEveryProperty keeps docs/cli.md's property tables in step with propertyTable.
func TestDocsListEveryProperty(t *testing.T) {
	doc, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for key := range propertyTable {
		if !strings.Contains(string(doc), "`"+key+"`") {
			t.Errorf("docs/cli.md does not document %q", key)
		}
	}
}
