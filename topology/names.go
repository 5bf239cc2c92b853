package topology

// ValidApplicationID reports whether id can name an application: it
// prefixes the application's internal topics, so it must be 1 to 200
// letters, digits, '.', '_' and '-' (Kafka's legal topic characters).
func ValidApplicationID(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
