package bench

import (
	"fmt"
	"os"
	"time"
)

// FsyncResult is how long this machine takes to make a small write
// durable: the floor under every acknowledged commit.
type FsyncResult struct {
	Dir      string
	Writes   int
	P50, P99 time.Duration
	// Max is the slowest write: a virtual disk stalls now and then for
	// far longer than its p99, and every commit waiting on it with it.
	Max time.Duration
}

func (f FsyncResult) String() string {
	return fmt.Sprintf("fsync of a 4 KiB write: p50 %s, p99 %s, max %s (%d writes in %s)", ms(f.P50), ms(f.P99), ms(f.Max), f.Writes, f.Dir)
}

// fsyncGap spaces the probe's writes, so that n of them span seconds: a
// virtual disk's stalls come every few seconds (strace showed fdatasync
// taking 0.53 s in a 12 s run), and a probe done in a blink misses them.
const fsyncGap = 5 * time.Millisecond

// MeasureFsync appends 4 KiB and fsyncs, n times fsyncGap apart, in a
// file of its own in dir (which it removes), and times each write plus
// fsync.
func MeasureFsync(dir string, n int) (FsyncResult, error) {
	res := FsyncResult{Dir: dir, Writes: n}
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return res, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 4096)
	for i := range block {
		block[i] = byte(i)
	}
	times := make([]time.Duration, 0, n)
	for i := range n {
		if i > 0 {
			time.Sleep(fsyncGap)
		}
		t0 := time.Now()
		if _, err := f.Write(block); err != nil {
			return res, err
		}
		if err := f.Sync(); err != nil {
			return res, err
		}
		times = append(times, time.Since(t0))
	}
	p := percentiles(times)
	res.P50, res.P99 = p.P50, p.P99
	for _, t := range times {
		res.Max = max(res.Max, t)
	}
	return res, nil
}

// MedianFsync is the median of each figure over several measurements.
func MedianFsync(runs []FsyncResult) FsyncResult {
	if len(runs) == 0 {
		return FsyncResult{}
	}
	return FsyncResult{
		Dir: runs[0].Dir, Writes: runs[0].Writes,
		P50: medianDur(runs, func(f FsyncResult) time.Duration { return f.P50 }),
		P99: medianDur(runs, func(f FsyncResult) time.Duration { return f.P99 }),
		Max: medianDur(runs, func(f FsyncResult) time.Duration { return f.Max }),
	}
}
