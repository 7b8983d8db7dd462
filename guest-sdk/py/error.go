package py

// Error is a Python exception raised by this package's operations, such
// as the TypeError of an unsupported +. Its class is always one of
// Python's built-in exceptions.
type Error struct {
	// Class is the built-in exception class name, such as "TypeError".
	Class string
	// Message is what str() of the Python exception gives.
	Message string
}

func (e *Error) Error() string { return e.Class + ": " + e.Message }

// TypeError returns an *Error of class TypeError.
func TypeError(message string) *Error { return &Error{Class: "TypeError", Message: message} }
