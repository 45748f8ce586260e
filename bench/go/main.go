// Command weft_bench_go: the Go peer of bench/bench_rt.c (issue 15), built
// from Debian's golang-go with no dependencies and run by tools/run bench as
// a process of its own after bench/weft_bench. It runs the same rows with
// goroutines and channels (impl "go") and writes them as Google Benchmark
// JSON (what tools/bench_report.py merges into the run's result file):
//
//	rt/spawn_join/go      go func() { ch <- v }() and <-ch (a channel of
//	                      capacity 1 carries the result: Go's join handle)
//	rt/pingpong/go        two goroutines over two unbuffered channels; one
//	                      item = one round trip
//	rt/sleepers_100k/go   100k goroutines each in time.Sleep(100 ms), waited
//	                      for with a sync.WaitGroup, in a fresh child process
//	                      per iteration (peak RSS from its ru_maxrss)
//	rt/switch/go          GOMAXPROCS(1), two goroutines each calling
//	                      runtime.Gosched() n times; one item = one Gosched
//
// GOMAXPROCS is -workers (weft's worker count) except in rt/switch. The
// timing loop follows Google Benchmark's: an iteration count grown until a
// run lasts -min_time, that run reported; repetitions of all rows in random
// order. weft_cpu_ns is the process's CPU (getrusage, every thread), plus
// the reaped children's for the sleepers row.
//
//	weft_bench_go [-workers N] [-repetitions N] [-min_time S] [-filter RE]
//	              [-out FILE] [-list]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	sleepers = 100000
	sleepNs  = 100 * time.Millisecond
	childEnv = "WEFT_BENCH_GO_CHILD" // "<workers> <tasks> <sleep ns>"
)

// A row: run(n) performs n operations and returns the items they count
// and any extra counters of that run.
type row struct {
	name     string // "<primitive>/<case>/go"
	batch    int64
	children bool // count reaped children's CPU (the sleepers row)
	procs    int  // GOMAXPROCS for this row; 0 = -workers
	run      func(n int64) (items float64, counters map[string]float64)
}

func spawnJoin(n int64) (float64, map[string]float64) {
	for i := int64(0); i < n; i++ {
		ch := make(chan int64, 1)
		go func(v int64) { ch <- v }(i)
		if <-ch != i {
			panic("spawn_join: wrong result")
		}
	}
	return float64(n), nil
}

func pingpong(n int64) (float64, map[string]float64) {
	ping, pong := make(chan int64), make(chan int64)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			pong <- <-ping
		}
	}()
	go func() {
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			ping <- i
			if <-pong != i {
				panic("pingpong: wrong value")
			}
		}
	}()
	wg.Wait()
	return float64(n), nil
}

func switches(n int64) (float64, map[string]float64) {
	var wg sync.WaitGroup
	wg.Add(2)
	for k := 0; k < 2; k++ {
		go func() {
			defer wg.Done()
			for i := int64(0); i < n; i++ {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	return 2 * float64(n), nil
}

// The sleepers row's child: prints "done_ns peak_kib base_kib most_asleep".
func sleepersChild(spec string) {
	var workers, tasks int
	var ns int64
	if _, err := fmt.Sscan(spec, &workers, &tasks, &ns); err != nil {
		os.Exit(2)
	}
	runtime.GOMAXPROCS(workers)
	base := rssKiB()
	var asleep, most int64 // the most goroutines asleep at once, as bench_rt.c counts
	t0 := time.Now()
	var wg sync.WaitGroup
	wg.Add(tasks)
	for i := 0; i < tasks; i++ {
		go func() {
			n := atomic.AddInt64(&asleep, 1)
			for m := atomic.LoadInt64(&most); n > m && !atomic.CompareAndSwapInt64(&most, m, n); m = atomic.LoadInt64(&most) {
			}
			time.Sleep(time.Duration(ns))
			atomic.AddInt64(&asleep, -1)
			wg.Done()
		}()
	}
	wg.Wait()
	done := time.Since(t0)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("%d %d %d %d\n", done.Nanoseconds(), ru.Maxrss, base, atomic.LoadInt64(&most))
}

func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	fmt.Sscan(string(b), &size, &resident)
	return resident * int64(os.Getpagesize()) / 1024
}

func sleepersRow(workers int) func(n int64) (float64, map[string]float64) {
	return func(n int64) (float64, map[string]float64) {
		var doneMs, peak, base, most float64
		var runs, failed float64
		for i := int64(0); i < n; i++ {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %d", childEnv, workers, sleepers, sleepNs.Nanoseconds()))
			out, err := cmd.Output()
			var d, p, b, m int64
			if err == nil {
				_, err = fmt.Sscan(string(out), &d, &p, &b, &m)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "weft_bench_go: sleepers child: %v\n", err)
				failed++
				continue
			}
			runs++
			doneMs += float64(d) / 1e6
			if float64(p)/1024 > peak {
				peak = float64(p) / 1024
			}
			base = float64(b) / 1024
			if float64(m) > most {
				most = float64(m)
			}
		}
		c := map[string]float64{"weft_peak_rss_mib": peak, "weft_base_rss_mib": base,
			"weft_most_asleep": most, "weft_failed_runs": failed, "weft_done_ms": -1}
		if runs > 0 {
			c["weft_done_ms"] = doneMs / runs
		}
		return float64(n), c
	}
}

func cpuNs(children bool) float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	ns := float64(ru.Utime.Nano() + ru.Stime.Nano())
	if children {
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
		ns += float64(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return ns
}

// One timed run of n iterations.
type result struct {
	iters    int64
	wall     time.Duration
	cpu      float64
	items    float64
	counters map[string]float64
}

func timed(r row, n int64) result {
	c0 := cpuNs(r.children)
	t0 := time.Now()
	items, counters := r.run(n)
	wall := time.Since(t0)
	return result{n, wall, cpuNs(r.children) - c0, items, counters}
}

// Google Benchmark's iteration search: grow n until a run lasts minTime.
func measure(r row, minTime time.Duration) result {
	n := r.batch
	for {
		res := timed(r, n)
		if res.wall >= minTime || n >= 1e9 {
			return res
		}
		mult := 10.0
		if res.wall > 0 {
			mult = 1.4 * float64(minTime) / float64(res.wall)
		}
		if mult > 10 {
			mult = 10
		}
		next := int64(float64(n)*mult) + 1
		next = (next + r.batch - 1) / r.batch * r.batch
		if next <= n {
			next = n + r.batch
		}
		n = next
	}
}

func entry(r row, rep, reps, family int, res result) map[string]interface{} {
	name := r.name + "/real_time/threads:1"
	secs := res.wall.Seconds()
	e := map[string]interface{}{
		"name": name, "run_name": name, "run_type": "iteration",
		"family_index": family, "per_family_instance_index": 0,
		"repetitions": reps, "repetition_index": rep, "threads": 1,
		"iterations": res.iters,
		"real_time":  float64(res.wall.Nanoseconds()) / float64(res.iters),
		"cpu_time":   res.cpu / float64(res.iters), "time_unit": "ns",
		"items_per_second": res.items / secs,
		"weft_cpu_ns":      res.cpu, "weft_items": res.items,
	}
	for k, v := range res.counters {
		e[k] = v
	}
	return e
}

func main() {
	if spec := os.Getenv(childEnv); spec != "" {
		sleepersChild(spec)
		return
	}
	workers := flag.Int("workers", runtime.NumCPU(), "GOMAXPROCS of every row but rt/switch")
	reps := flag.Int("repetitions", 3, "repetitions of each row")
	minTime := flag.Float64("min_time", 0.03, "seconds each reported run lasts at least")
	filter := flag.String("filter", ".", "regular expression over the row names")
	out := flag.String("out", "", "write the JSON here (default: stdout)")
	list := flag.Bool("list", false, "print the row names matching -filter and exit")
	flag.Parse()
	re, err := regexp.Compile(*filter)
	if err != nil {
		fmt.Fprintf(os.Stderr, "weft_bench_go: bad -filter: %v\n", err)
		os.Exit(2)
	}
	all := []row{
		{name: "rt/spawn_join/go", batch: 1024, run: spawnJoin},
		{name: "rt/pingpong/go", batch: 1024, run: pingpong},
		{name: "rt/switch/go", batch: 4096, procs: 1, run: switches},
		{name: "rt/sleepers_100k/go", batch: 1, children: true, run: sleepersRow(*workers)},
	}
	var rows []row
	for _, r := range all {
		if re.MatchString(r.name + "/real_time/threads:1") {
			rows = append(rows, r)
		}
	}
	if *list {
		for _, r := range rows {
			fmt.Println(r.name + "/real_time/threads:1")
		}
		return
	}
	// Repetitions of all rows in random order, as the main binary runs them.
	type job struct{ row, rep int }
	var jobs []job
	for i := range rows {
		for k := 0; k < *reps; k++ {
			jobs = append(jobs, job{i, k})
		}
	}
	rand.Seed(time.Now().UnixNano())
	rand.Shuffle(len(jobs), func(a, b int) { jobs[a], jobs[b] = jobs[b], jobs[a] })
	results := make([][]map[string]interface{}, len(rows))
	for i := range rows {
		results[i] = make([]map[string]interface{}, *reps)
	}
	for _, j := range jobs {
		r := rows[j.row]
		procs := *workers
		if r.procs > 0 {
			procs = r.procs
		}
		runtime.GOMAXPROCS(procs)
		runtime.GC() // no garbage of the previous row collected inside this one
		res := measure(r, time.Duration(*minTime*float64(time.Second)))
		results[j.row][j.rep] = entry(r, j.rep, *reps, j.row, res)
		fmt.Fprintf(os.Stderr, "%s/real_time/threads:1 %.4g ns\n", r.name,
			float64(res.wall.Nanoseconds())/float64(res.iters))
	}
	doc := map[string]interface{}{
		"context": map[string]interface{}{
			"weft_go": fmt.Sprintf("%s (%s/%s, GOMAXPROCS %d, rt/switch 1)", runtime.Version(),
				runtime.GOOS, runtime.GOARCH, *workers),
		},
		"benchmarks": flatten(results),
	}
	w := os.Stdout
	if *out != "" {
		if w, err = os.Create(*out); err != nil {
			fmt.Fprintf(os.Stderr, "weft_bench_go: %v\n", err)
			os.Exit(1)
		}
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil || bw.Flush() != nil || w.Close() != nil {
		fmt.Fprintln(os.Stderr, "weft_bench_go: writing the result failed")
		os.Exit(1)
	}
}

func flatten(rs [][]map[string]interface{}) []map[string]interface{} {
	var out []map[string]interface{}
	for _, reps := range rs {
		out = append(out, reps...)
	}
	return out
}
