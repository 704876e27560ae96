package bench

// CPU time of this process, of another, and of the whole machine, from
// /proc: to tell how much of a step's machine was taken by processes
// outside the bench and its server (another job on a shared machine).

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const userHZ = 100 // the tick of /proc's CPU times on Linux

// processCPU is the CPU time (user + system) process pid has used.
func processCPU(pid string) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; fields start after its ')'.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// machineBusy is the CPU time all CPUs have spent other than idle or
// waiting for I/O (stolen time counts: someone else had the CPU).
func machineBusy() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat")
	}
	var busy int64
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / userHZ, nil
}

// loadMeter measures, over an interval, the cores other processes used.
type loadMeter struct {
	at          time.Time
	busy, self  time.Duration
	server      time.Duration
	serverCPU   func() (time.Duration, error)
	unavailable bool
}

// startLoad starts a measurement; server reads the server's CPU time
// (nil: the server is not a child, and counts as other).
func startLoad(server func() (time.Duration, error)) *loadMeter {
	m := &loadMeter{at: time.Now(), serverCPU: server}
	var err1, err2 error
	m.busy, err1 = machineBusy()
	m.self, err2 = processCPU("self")
	m.server = readCPU(server)
	m.unavailable = err1 != nil || err2 != nil
	return m
}

// other is the average number of cores used since start by processes
// other than this one and the server; -1 when /proc cannot tell.
func (m *loadMeter) other() float64 {
	busy, err1 := machineBusy()
	self, err2 := processCPU("self")
	wall := time.Since(m.at)
	if m.unavailable || err1 != nil || err2 != nil || wall <= 0 {
		return -1
	}
	d := (busy - m.busy) - (self - m.self) - (readCPU(m.serverCPU) - m.server)
	return max(float64(d)/float64(wall), 0)
}
