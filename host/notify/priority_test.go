package notify

import "testing"

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in      string
		want    Priority
		wantErr bool
	}{
		{"INFO", PriorityInfo, false},
		{"info", PriorityInfo, false},
		{"Warn", PriorityWarn, false},
		{"SAMPLE", PrioritySample, false},
		{"AUDIT", PriorityAudit, false},
		{"warning", "", true},
		{"", "", true},
		{"notice", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePriority(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParsePriority(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if got := len(Priorities()); got != 7 {
		t.Fatalf("%d priorities, want 7", got)
	}
	for _, p := range Priorities() {
		if !p.Valid() || p.wire() != map[Priority]string{
			PriorityAudit: "AUDIT", PriorityDebug: "DEBUG", PriorityInfo: "INFO", PriorityWarn: "WARN",
			PriorityError: "ERROR", PriorityCritical: "CRITICAL", PrioritySample: "SAMPLE",
		}[p] {
			t.Errorf("priority %q: valid %v, wire %q", p, p.Valid(), p.wire())
		}
	}
}
