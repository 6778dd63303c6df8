package suggest

import "testing"

func TestClosest(t *testing.T) {
	names := []string{"workers", "ordered", "on_error", "from", "use"}
	tests := []struct {
		word, want string
		ok         bool
	}{
		{"wrkers", "workers", true},
		{"Ordered", "ordered", true},
		{"onerror", "on_error", true},
		{"frm", "from", true},
		{"zzzzzz", "", false},
		{"use", "", false},
	}
	for _, tc := range tests {
		got, ok := Closest(tc.word, names)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tc.word, got, ok, tc.want, tc.ok)
		}
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance = %d, want 3", d)
	}
}
