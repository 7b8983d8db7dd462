package benchkit

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{7}, 0.99, 7},
		{ten, 0.5, 5},
		{ten, 0.99, 10},
		{ten, 0.0, 1},
		{ten, 0.9, 9},
	} {
		if got := Quantile(tc.samples, tc.q); got != tc.want {
			t.Errorf("Quantile(%v, %v) = %v, want %v", tc.samples, tc.q, got, tc.want)
		}
	}
	if got := Median([]time.Duration{9, 1, 5}); got != 5 {
		t.Errorf("Median = %v, want 5", got)
	}
}
