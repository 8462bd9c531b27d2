// shared.go: the table every connection of the process shares (state=shared),
// as common/shared.c has it: a count per key in a fixed-size open-addressing
// hash table and a ring of the last keys seen, behind one sync.Mutex; and one
// update as the server serves it, measured and counted.
package main

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	sharedSlots = 1024 // keys the table holds; a power of two
	sharedRing  = 64   // the last keys seen
	// sharedFullReason is the 503's body when a new key finds every slot taken.
	sharedFullReason = "the shared table is full: 1024 keys (state=shared with a new key)"
)

type sharedTable struct {
	mu       sync.Mutex // around every update: goroutines run on several threads
	keys     [sharedSlots]string
	counts   [sharedSlots]uint64
	used     int
	ring     [sharedRing]uint16 // slot + 1 of the keys seen; 0: none yet
	ringNext int
}

// table is the process's one table.
var table sharedTable

// sharedHome is the slot a key's probe starts at: FNV-1a (short keys, no adversary).
func sharedHome(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h & (sharedSlots - 1))
}

// find returns the slot holding key by linear probing from its home, else the
// first empty slot on the way; -1: full, and key is not there.
func (t *sharedTable) find(key string) int {
	home := sharedHome(key)
	for i := 0; i < sharedSlots; i++ {
		at := (home + i) & (sharedSlots - 1)
		if t.keys[at] == "" || t.keys[at] == key {
			return at
		}
	}
	return -1
}

// update reads key's count, runs work, writes the count plus one back and puts
// the key in the ring; the count after it, or 0 when the key is new and the
// table full (nothing changed). The caller holds mu.
func (t *sharedTable) update(key string, work func()) uint64 {
	at := t.find(key)
	if at < 0 {
		return 0
	}
	if t.keys[at] == "" {
		t.keys[at], t.counts[at] = key, 0
		t.used++
	}
	n := t.counts[at] + 1 // read, work, write back: the lock keeps others out
	work()
	t.counts[at] = n
	t.ring[t.ringNext%sharedRing] = uint16(at + 1)
	t.ringNext++
	return n
}

// counted is the sum of every key's count: the updates the table kept.
func (t *sharedTable) counted() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var sum uint64
	for _, c := range t.counts {
		sum += c
	}
	return sum
}

// sharedServe is one state=shared update of w.key with w.shareUS of CPU inside,
// as common/shared_serve.c does it: TryLock first, a contended take counted.
// Counts shared_updates (or shared_full), share_ns from wanting the table to
// done with it, and share_wait_ns. A goroutine that blocks in Lock parks, and
// its thread runs another: the thread's own switches say nothing about the
// wait, so lock_switches is not measured (null). Returns the key's count, or 0
// when the table is full.
func sharedServe(w *workload) uint64 {
	tWant := time.Now() // carries the monotonic clock: time.Since reads it
	if !table.mu.TryLock() {
		count(ctrLockContended)
		table.mu.Lock()
	}
	atomic.AddUint64(&counters[ctrShareWaitNS], uint64(time.Since(tWant)))
	n := table.update(w.key, func() { spin(w.shareUS) })
	if n > 0 {
		count(ctrSharedUpdates)
	} else {
		count(ctrSharedFull)
	}
	table.mu.Unlock()
	atomic.AddUint64(&counters[ctrShareNS], uint64(time.Since(tWant)))
	return n
}

// sharedSettle, at exit: the table's count into shared_counted, and
// shared_lost from it and shared_updates.
func sharedSettle() {
	counted := table.counted()
	made := atomic.LoadUint64(&counters[ctrSharedUpdates])
	atomic.StoreUint64(&counters[ctrSharedCounted], counted)
	if made > counted {
		atomic.StoreUint64(&counters[ctrSharedLost], made-counted)
	}
}
