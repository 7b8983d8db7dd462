package sdk

import (
	"fmt"

	"github.com/wasmrpcd/wasmrpcd/abi"
)

// Level is the severity of a log line.
type Level int32

// Log levels, as the host's log import numbers them.
const (
	LevelDebug = Level(abi.LogDebug)
	LevelInfo  = Level(abi.LogInfo)
	LevelWarn  = Level(abi.LogWarn)
	LevelError = Level(abi.LogError)
)

func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int32(l))
}

// Log writes msg to the host's log under the module's name. Outside wasm
// (unit tests on the host) it writes to standard error.
func Log(level Level, msg string) { hostLog(level, msg) }

// Logf formats its arguments as fmt.Sprintf does and logs the result.
func Logf(level Level, format string, a ...any) { hostLog(level, fmt.Sprintf(format, a...)) }
