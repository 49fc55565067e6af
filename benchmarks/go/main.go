// Command gobench measures Go's own classic runtime hash map (the Go <= 1.23
// bucket/overflow-chain implementation that NativeGoMap ports to C#) on the same
// "quick workload" as the C# benchmark harness, and prints machine-readable,
// tab-separated results:
//
//	# go <runtime.Version()> <GOOS>/<GOARCH> GOMAXPROCS=<n>
//	go	<type>	<size>	<op>	<ns_per_op>
//
// See README.md for the exact contract. Only the standard library is used.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's monotonic clock (a single vDSO clock_gettime on
// linux); cheaper than time.Now(), which also reads the wall clock. Used only
// for the per-insert stall measurement.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// minMeasure is the minimum duration of one measurement (one rep). Loops over
// small maps are repeated until at least this much timed work has been done.
const minMeasure = 20 * time.Millisecond

// ---------------------------------------------------------------------------
// Key sequence shared with the C# side.

type splitmix64 struct{ state uint64 }

func (r *splitmix64) next() uint64 {
	r.state += 0x9E3779B97F4A7C15
	z := r.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Guid is the 16-byte key: two consecutive splitmix64 outputs a, b stored
// little-endian (a in bytes 0..7, b in bytes 8..15).
type Guid [16]byte

type number interface{ ~int32 | ~int64 }

// dataset holds, for one key type and size n, the n present keys (first n
// outputs of the stream), their values, and the n missing keys (the outputs
// that follow).
type dataset[K comparable, V number] struct {
	present []K
	vals    []V
	missing []K
}

func genInt(n int) dataset[int32, int32] {
	r := splitmix64{12345}
	d := dataset[int32, int32]{make([]int32, n), make([]int32, n), make([]int32, n)}
	for i := 0; i < n; i++ {
		k := int32(uint32(r.next()))
		d.present[i], d.vals[i] = k, k
	}
	for i := 0; i < n; i++ {
		d.missing[i] = int32(uint32(r.next()))
	}
	return d
}

func genLong(n int) dataset[int64, int64] {
	r := splitmix64{12345}
	d := dataset[int64, int64]{make([]int64, n), make([]int64, n), make([]int64, n)}
	for i := 0; i < n; i++ {
		k := int64(r.next())
		d.present[i], d.vals[i] = k, k
	}
	for i := 0; i < n; i++ {
		d.missing[i] = int64(r.next())
	}
	return d
}

func guidFrom(r *splitmix64) (Guid, int64) {
	var g Guid
	a := r.next()
	b := r.next()
	binary.LittleEndian.PutUint64(g[0:8], a)
	binary.LittleEndian.PutUint64(g[8:16], b)
	return g, int64(a)
}

func genGuid(n int) dataset[Guid, int64] {
	r := splitmix64{12345}
	d := dataset[Guid, int64]{make([]Guid, n), make([]int64, n), make([]Guid, n)}
	for i := 0; i < n; i++ {
		d.present[i], d.vals[i] = guidFrom(&r)
	}
	for i := 0; i < n; i++ {
		d.missing[i], _ = guidFrom(&r)
	}
	return d
}

// mixOps precomputes the 90/10 read/update stream (seed 999): for op i,
// first next()%10==0 decides "write", then next()%n is the key index.
// Encoded as index | writeBit so the RNG is not part of the timed loop.
const writeBit = 1 << 31

func genMixOps(n int) []uint32 {
	r := splitmix64{999}
	ops := make([]uint32, n)
	for i := range ops {
		w := r.next()%10 == 0
		idx := uint32(r.next() % uint64(n))
		if w {
			idx |= writeBit
		}
		ops[i] = idx
	}
	return ops
}

// ---------------------------------------------------------------------------
// Measurement helpers.

var (
	sinkSum int64
	sinkMap any
)

// batch measures a loop body that does `opsPerIter` operations per call and
// needs no untimed setup. body(iters) runs the body iters times. One warm-up
// call calibrates iters so that one rep takes >= minMeasure. Returns the best
// (minimum) ns/op over reps.
func batch(reps, opsPerIter int, body func(iters int)) float64 {
	// Warm-up + calibration: double the iteration count until one call takes
	// at least minMeasure (like testing.B), then use that count for each rep.
	runtime.GC()
	iters := 1
	for {
		t0 := time.Now()
		body(iters)
		if time.Since(t0) >= minMeasure {
			break
		}
		iters *= 2
	}
	best := -1.0
	for rep := 0; rep < reps; rep++ {
		runtime.GC()
		t := time.Now()
		body(iters)
		el := time.Since(t)
		ns := float64(el.Nanoseconds()) / float64(iters) / float64(opsPerIter)
		if best < 0 || ns < best {
			best = ns
		}
	}
	return best
}

// perPass measures passes that need untimed setup: pass() does its own setup
// and returns the duration of the timed part only. Passes are repeated until
// the accumulated timed duration reaches minMeasure. Best ns/op over reps.
func perPass(reps, opsPerPass int, pass func() time.Duration) float64 {
	best := -1.0
	for rep := -1; rep < reps; rep++ { // rep -1 is an untimed warm-up
		runtime.GC()
		var total time.Duration
		passes := 0
		for total < minMeasure || passes == 0 {
			total += pass()
			passes++
		}
		ns := float64(total.Nanoseconds()) / float64(passes) / float64(opsPerPass)
		if rep >= 0 && (best < 0 || ns < best) {
			best = ns
		}
	}
	return best
}

func emit(typ string, n int, op string, v float64) {
	fmt.Printf("go\t%s\t%d\t%s\t%.2f\n", typ, n, op, v)
}

// ---------------------------------------------------------------------------
// The quick workload.

func build[K comparable, V number](d *dataset[K, V]) map[K]V {
	m := make(map[K]V, len(d.present))
	for i, k := range d.present {
		m[k] = d.vals[i]
	}
	return m
}

func runQuick[K comparable, V number](typ string, d *dataset[K, V], reps int) {
	n := len(d.present)
	present, vals, missing := d.present, d.vals, d.missing

	m := build(d)
	sinkMap = m

	emit(typ, n, "lookup_hit", batch(reps, n, func(iters int) {
		var s V
		for it := 0; it < iters; it++ {
			for _, k := range present {
				s += m[k]
			}
		}
		sinkSum += int64(s)
	}))

	emit(typ, n, "lookup_miss", batch(reps, n, func(iters int) {
		var s V
		for it := 0; it < iters; it++ {
			for _, k := range missing {
				s += m[k]
			}
		}
		sinkSum += int64(s)
	}))

	emit(typ, n, "insert_nohint", batch(reps, n, func(iters int) {
		for it := 0; it < iters; it++ {
			mm := make(map[K]V)
			for i, k := range present {
				mm[k] = vals[i]
			}
			sinkMap = mm // force heap allocation, keep result observable
		}
	}))

	emit(typ, n, "insert_hint", batch(reps, n, func(iters int) {
		for it := 0; it < iters; it++ {
			mm := make(map[K]V, n)
			for i, k := range present {
				mm[k] = vals[i]
			}
			sinkMap = mm
		}
	}))
	sinkMap = m

	emit(typ, n, "update", batch(reps, n, func(iters int) {
		for it := 0; it < iters; it++ {
			for i, k := range present {
				m[k] = vals[i] + 1
			}
		}
	}))

	emit(typ, n, "iterate", batch(reps, len(m), func(iters int) {
		var s V
		for it := 0; it < iters; it++ {
			for _, v := range m {
				s += v
			}
		}
		sinkSum += int64(s)
	}))

	ops := genMixOps(n)
	emit(typ, n, "mix90_10", batch(reps, n, func(iters int) {
		var s V
		for it := 0; it < iters; it++ {
			for _, op := range ops {
				idx := op &^ writeBit
				if op&writeBit != 0 {
					m[present[idx]] = vals[idx] + 1
				} else {
					s += m[present[idx]]
				}
			}
		}
		sinkSum += int64(s)
	}))
	ops = nil

	// clear_refill reuses the hinted map built above: clear (mapclear idiom)
	// then reinsert all n keys; ns per reinserted key, clear time included.
	emit(typ, n, "clear_refill", batch(reps, n, func(iters int) {
		for it := 0; it < iters; it++ {
			for k := range m {
				delete(m, k) // compiled to runtime.mapclear
			}
			for i, k := range present {
				m[k] = vals[i]
			}
		}
	}))

	m = nil
	sinkMap = nil

	emit(typ, n, "remove", perPass(reps, n, func() time.Duration {
		mm := build(d)
		t := time.Now()
		for _, k := range present {
			delete(mm, k)
		}
		el := time.Since(t)
		sinkMap = mm
		return el
	}))
	sinkMap = nil
}

// ---------------------------------------------------------------------------
// The entity rows (the C# UserKeys.Entities and QuickRows.Entities).

// Entity64 is the C# benchmark's Entity64: 64 bytes, which Go's map keeps inline
// in its buckets (values of up to 128 bytes), as GoMap does: 560-byte buckets for
// int32 keys in both.
type Entity64 struct {
	Id                       int64
	X, Y, Z                  float64
	Health, Mana, Gold, Tick int64
}

func entityForID(id int32) Entity64 {
	i := int64(id)
	return Entity64{Id: i, X: float64(i), Y: float64(-i), Z: 0.5 * float64(i), Health: 100 + (i & 63), Mana: 50, Gold: i & 1023}
}

// runEntity measures the entity rows: ids 1..n inserted in order with
// entityForID; lookups and updates in the C# rows' fixed shuffle (Fisher-Yates
// drawing from splitmix64 seed 4242, as SplitMix64.Shuffle). update_via_ref is
// what a Go user writes for it, having no reference into a map value: the value
// read, its Health set, and stored back (two map operations where the C# row's
// GetValueRefOrNullRef and CollectionsMarshal.GetValueRefOrNullRef take one).
func runEntity(n, reps int) {
	ids := make([]int32, n)
	ents := make([]Entity64, n)
	for i := range ids {
		ids[i] = int32(i + 1)
		ents[i] = entityForID(int32(i + 1))
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	r := splitmix64{4242}
	for i := n - 1; i > 0; i-- {
		j := int(r.next() % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	present := make([]int32, n)
	vals := make([]Entity64, n)
	for i, o := range order {
		present[i], vals[i] = ids[o], ents[o]
	}

	emit("entity", n, "insert_nohint", batch(reps, n, func(iters int) {
		for it := 0; it < iters; it++ {
			mm := make(map[int32]Entity64)
			for i, k := range ids {
				mm[k] = ents[i]
			}
			sinkMap = mm
		}
	}))
	sinkMap = nil

	m := make(map[int32]Entity64, n)
	for i, k := range ids {
		m[k] = ents[i]
	}
	sinkMap = m

	emit("entity", n, "lookup_hit", batch(reps, n, func(iters int) {
		var s int64
		for it := 0; it < iters; it++ {
			for _, k := range present {
				s += m[k].Health
			}
		}
		sinkSum += s
	}))

	emit("entity", n, "update_via_ref", batch(reps, n, func(iters int) {
		for it := 0; it < iters; it++ {
			for i, k := range present {
				if e, ok := m[k]; ok {
					e.Health = vals[i].Health + 1
					m[k] = e
				}
			}
		}
	}))

	emit("entity", n, "iterate", batch(reps, len(m), func(iters int) {
		var s int64
		for it := 0; it < iters; it++ {
			for _, v := range m {
				s += v.Health
			}
		}
		sinkSum += s
	}))
	sinkMap = nil
}

// ---------------------------------------------------------------------------
// Stall measurement: per-insert latency while growing a no-hint map.

const (
	histRes     = 10        // ns per histogram bucket
	histBuckets = 1_000_000 // covers 0 .. 10ms; slower inserts go to overflow
)

func runStall(n int) {
	hist := make([]uint32, histBuckets)
	overflow := make([]int64, 0, 4096)
	var maxNs int64
	maxAt := -1

	var ms0, ms1, ms2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)

	m := make(map[int64]int64)
	r := splitmix64{12345}
	for i := 0; i < n; i++ {
		k := int64(r.next())
		t0 := nanotime()
		m[k] = k
		dt := nanotime() - t0
		if dt > maxNs {
			maxNs, maxAt = dt, i
		}
		if b := dt / histRes; b < histBuckets {
			hist[b]++
		} else {
			overflow = append(overflow, dt)
		}
	}

	runtime.ReadMemStats(&ms1)
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	runtime.KeepAlive(m)
	sinkMap = m

	// 99.9th percentile: smallest duration d such that >= 99.9% of samples <= d.
	rank := int64(float64(n)*0.999+0.5) - 1
	if rank < 0 {
		rank = 0
	}
	var p999 int64 = -1
	var seen int64
	for b := 0; b < histBuckets; b++ {
		seen += int64(hist[b])
		if seen > rank {
			p999 = int64(b) * histRes // bucket lower edge (10ns resolution)
			break
		}
	}
	if p999 < 0 {
		sort.Slice(overflow, func(i, j int) bool { return overflow[i] < overflow[j] })
		p999 = overflow[rank-seen]
	}

	emit("long", n, "stall_max_us", float64(maxNs)/1000)
	emit("long", n, "stall_p999_us", float64(p999)/1000)
	emit("long", n, "gc_count", float64(ms1.NumGC-ms0.NumGC))
	emit("long", n, "bytes_per_entry", (float64(ms2.HeapAlloc)-float64(ms0.HeapAlloc))/float64(n))
	fmt.Fprintf(os.Stderr, "# stall: map len %d, max %v at insert #%d, %d inserts slower than %v\n",
		len(m), time.Duration(maxNs), maxAt, len(overflow), time.Duration(histBuckets*histRes))
	sinkMap = nil
}

// ---------------------------------------------------------------------------

func main() {
	sizesFlag := flag.String("sizes", "1000,1000000", "comma-separated map sizes")
	typesFlag := flag.String("types", "int,long,guid", "comma-separated key types: int,long,guid,entity")
	entitySizesFlag := flag.String("entity-sizes", "10000,1000000", "sizes of the entity rows (type entity)")
	reps := flag.Int("reps", 3, "repetitions per measurement; the best (minimum) ns/op is reported")
	stall := flag.Bool("stall", true, "also run the 10M-insert stall measurement (type long)")
	flag.Parse()

	sizes := parseSizes(*sizesFlag)
	entitySizes := parseSizes(*entitySizesFlag)
	entity := false
	var types []string
	for _, t := range strings.Split(*typesFlag, ",") {
		t = strings.TrimSpace(t)
		switch t {
		case "":
			continue
		case "int", "long", "guid":
			types = append(types, t)
		case "entity":
			entity = true
		default:
			fmt.Fprintf(os.Stderr, "bad type %q (want int, long, guid or entity)\n", t)
			os.Exit(2)
		}
	}
	if *reps < 1 {
		*reps = 1
	}

	fmt.Printf("# go %s %s/%s GOMAXPROCS=%d\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))

	start := time.Now()
	// The stall measurement runs first, on a fresh heap: its worst case is the
	// allocation (and first touch) of the new bucket array at a growth point,
	// which otherwise depends on how much freed-but-not-returned memory the
	// preceding workload left behind (see README.md).
	if *stall {
		runStall(10_000_000)
		runtime.GC()
	}
	for _, n := range sizes {
		for _, t := range types {
			switch t {
			case "int":
				d := genInt(n)
				runQuick("int", &d, *reps)
			case "long":
				d := genLong(n)
				runQuick("long", &d, *reps)
			case "guid":
				d := genGuid(n)
				runQuick("guid", &d, *reps)
			}
			runtime.GC()
		}
	}
	if entity {
		for _, n := range entitySizes {
			runEntity(n, *reps)
			runtime.GC()
		}
	}
	fmt.Fprintf(os.Stderr, "# total %.1fs\n", time.Since(start).Seconds())
}

// parseSizes reads a comma-separated list of positive sizes; exits 2 on a bad one.
func parseSizes(list string) []int {
	var sizes []int
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bad size %q\n", s)
			os.Exit(2)
		}
		sizes = append(sizes, v)
	}
	return sizes
}
