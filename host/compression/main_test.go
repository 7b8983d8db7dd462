package compression

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the zstd
// decoders and encoder must run synchronously.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
