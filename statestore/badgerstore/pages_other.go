//go:build !linux

package badgerstore

import "errors"

// Elsewhere than Linux the stores leave their tables' pages mapped.
const pageDropSupported = false

func readMappings() ([]mapping, error) { return nil, errors.ErrUnsupported }

func dropMapping(start, end uintptr) error { return errors.ErrUnsupported }
