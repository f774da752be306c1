package database

import "testing"

// TestOneRoundTrip: binary_parameters is turned on unless the URL says
// otherwise, with the separator the URL needs.
func TestOneRoundTrip(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://h/db":                           "postgres://h/db?binary_parameters=yes",
		"postgres://h/db?sslmode=disable":           "postgres://h/db?sslmode=disable&binary_parameters=yes",
		"postgres://h/db?binary_parameters=no":      "postgres://h/db?binary_parameters=no",
		"postgres://h/db?a=1&binary_parameters=yes": "postgres://h/db?a=1&binary_parameters=yes",
	} {
		if got := oneRoundTrip(in); got != want {
			t.Errorf("oneRoundTrip(%q) = %q, want %q", in, got, want)
		}
	}
}
