package harness

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"
)

// Machine describes where figures were measured, as RESULTS.md records it.
type Machine struct {
	NumCPU    int       // runtime.NumCPU, what nproc prints
	CPUModel  string    // "model name" from /proc/cpuinfo, "unknown" elsewhere
	GoVersion string    // runtime.Version
	OSArch    string    // GOOS/GOARCH
	Date      time.Time // when the run started
	// LoadAvg is the first three fields of /proc/loadavg at the start
	// ("" elsewhere): the machine may be shared.
	LoadAvg string
}

// DetectMachine reads the machine's description.
func DetectMachine() Machine {
	return Machine{
		NumCPU:    runtime.NumCPU(),
		CPUModel:  cpuModel("/proc/cpuinfo"),
		GoVersion: runtime.Version(),
		OSArch:    runtime.GOOS + "/" + runtime.GOARCH,
		Date:      time.Now(),
		LoadAvg:   loadAvg("/proc/loadavg"),
	}
}

func loadAvg(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
