package files

import "testing"

func TestAvatarHostAllowed(t *testing.T) {
	hosts := []string{"cdn.example.com", " *.img.example.org ", ""}
	for host, want := range map[string]bool{
		"cdn.example.com":          true,
		"CDN.Example.com":          true,
		"cdn.example.com.":         true,
		"a.img.example.org":        true,
		"a.b.img.example.org":      true,
		"img.example.org":          false, // the wildcard is for subdomains
		"evilimg.example.org":      false,
		"cdn.example.com.evil.net": false,
		"example.com":              false,
		"":                         false,
	} {
		if got := AvatarHostAllowed(hosts, host); got != want {
			t.Errorf("AvatarHostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
	if AvatarHostAllowed(nil, "cdn.example.com") {
		t.Error("an empty list allows no host")
	}
}

func TestFileIDOf(t *testing.T) {
	for path, want := range map[string]int{
		"/files/12/a.png": 12, "/files/12": 12, "/files/012/a": 0, "/files/-1/a": 0,
		"/files//a": 0, "/file/12/a": 0, "/files/x/a": 0,
	} {
		got, ok := fileIDOf(path)
		if ok != (want != 0) || got != want && ok {
			t.Errorf("fileIDOf(%q) = %d, %v; want %d", path, got, ok, want)
		}
	}
}
