// Package term answers whether an output goes to a terminal, for the command-line tools
// that redraw progress or a live table in place there and print plain lines elsewhere.
package term

import (
	"io"
	"os"
)

// IsTerminal reports whether w is a character device (a terminal), the usual test for
// whether to draw in place.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
