package badgerstore

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const pageDropSupported = true

// readMappings lists the process's shared mappings of table files, from /proc/self/maps
// (lines "start-end perms offset dev inode path").
func readMappings() ([]mapping, error) {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasSuffix(line, ".sst") {
			continue
		}
		if m, ok := parseMapping(line); ok {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// parseMapping reads one line of /proc/self/maps, keeping shared file mappings.
func parseMapping(line string) (mapping, bool) {
	var f [5]string
	rest := line
	for i := range f {
		rest = strings.TrimLeft(rest, " ")
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			return mapping{}, false
		}
		f[i], rest = rest[:end], rest[end:]
	}
	// The path is the rest of the line (it may hold spaces).
	path := strings.TrimLeft(rest, " ")
	if path == "" || len(f[1]) < 4 || f[1][3] != 's' {
		return mapping{}, false
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return mapping{}, false
	}
	return mapping{start: uintptr(start), end: uintptr(end), path: path}, true
}

// dropMapping drops the pages of a shared file mapping from the process's page tables.
func dropMapping(start, end uintptr) error {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_DONTNEED)
	if errno != 0 {
		return errno
	}
	return nil
}
