package voiceprint

import (
	"runtime"
	"sync"

	"github.com/voxdesk/voxdesk/voiceprint/nn"
)

// pipeline runs the network incrementally over voiced, normalised feature
// frames: each frame-level layer keeps the few input frames its context
// needs, so frames can be pushed in any batches and each is computed once.
// It pools either per Kaldi chunk (averaging chunk x-vectors) or over
// everything. The batch Extractor and the Stream share it.
//
// A pipeline holds only a stream's state: per layer the context frames
// carried to the next push, and the pooling statistics. The network's
// working set (activations of a whole batch, layer by layer) is a work,
// lent for the duration of a push or an x-vector; streams share works
// through a workPool, so memory per stream does not include it.
type pipeline struct {
	net      *nn.Network
	chunked  bool
	batchMax int
	hist     [][]float32 // per layer: the last Left+Right input frames
	rows     []int       // frames held in hist
	stats    *nn.Stats   // current chunk (or everything)
	chunk    int         // input frames in the current chunk
	acc      []float64   // sum of chunk x-vectors weighted by length
	tot      float64     // total weight in acc
	raw      []float32
}

func newPipeline(net *nn.Network, chunked bool, batchMax int) *pipeline {
	p := &pipeline{net: net, chunked: chunked, batchMax: batchMax,
		stats: net.NewStats(), acc: make([]float64, net.OutputDim), raw: make([]float32, net.OutputDim)}
	for _, l := range net.Layers {
		p.hist = append(p.hist, make([]float32, (l.Left()+l.Right())*l.In))
		p.rows = append(p.rows, 0)
	}
	return p
}

// work is the network working set of one push: the workspace, and per
// layer the held context frames followed by the new ones.
type work struct {
	ws *nn.Workspace
	in [][]float32
	// scratch is a Stream's provisional pipeline (EmbedTo), lent with
	// the rest: only the state in Stream.pipe outlives a call.
	scratch *pipeline
}

func newWork(net *nn.Network, chunked bool, batchMax int) *work {
	w := &work{ws: net.NewWorkspace(batchMax), scratch: newPipeline(net, chunked, batchMax)}
	for _, l := range net.Layers {
		w.in = append(w.in, make([]float32, (l.Left()+l.Right()+batchMax)*l.In))
	}
	return w
}

// workPool lends works of one network and batch size to any number of
// streams. A work is busy only while a goroutine computes, so the pool
// grows to the number computing at once (about GOMAXPROCS) and keeps up
// to keepPerProc per CPU, allocating nothing in steady state (a
// sync.Pool would drop them at every GC and reallocate megabytes).
type workPool struct {
	mu   sync.Mutex
	free []*work
	keep int
	make func() *work
}

// keepPerProc bounds the idle works kept per GOMAXPROCS.
const keepPerProc = 2

func newWorkPool(net *nn.Network, chunked bool, batchMax int) *workPool {
	return &workPool{keep: keepPerProc * runtime.GOMAXPROCS(0), make: func() *work { return newWork(net, chunked, batchMax) }}
}

func (p *workPool) get() *work {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		w := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return w
	}
	p.mu.Unlock()
	return p.make()
}

func (p *workPool) put(w *work) {
	p.mu.Lock()
	if len(p.free) < p.keep {
		p.free = append(p.free, w)
	}
	p.mu.Unlock()
}

func (p *pipeline) reset() {
	p.resetChunk()
	clear(p.acc)
	p.tot = 0
}

func (p *pipeline) resetChunk() {
	for i := range p.rows {
		p.rows[i] = 0
	}
	p.stats.Reset()
	p.chunk = 0
}

// copyFrom makes p the same state as q (same network).
func (p *pipeline) copyFrom(q *pipeline) {
	for i, l := range p.net.Layers {
		p.rows[i] = q.rows[i]
		copy(p.hist[i], q.hist[i][:q.rows[i]*l.In])
	}
	p.stats.CopyFrom(q.stats)
	p.chunk = q.chunk
	copy(p.acc, q.acc)
	p.tot = q.tot
}

// push feeds n frames (InputDim values each), computing in w.
func (p *pipeline) push(w *work, frames []float32, n int) {
	d := p.net.InputDim
	for n > 0 {
		take := min(n, p.batchMax)
		if p.chunked {
			take = min(take, p.net.MaxChunk-p.chunk)
		}
		p.feed(w, 0, frames[:take*d], take)
		p.chunk += take
		frames, n = frames[take*d:], n-take
		if p.chunked && p.chunk == p.net.MaxChunk {
			p.finishChunk(w.ws)
		}
	}
}

// feed appends rows frames to layer i's input and runs what it can: the
// held context and the new frames are joined in w (the layer only ever
// sees w's buffers, so a shared workspace caches no stream's memory),
// and the last Left+Right frames are kept for the next push.
func (p *pipeline) feed(w *work, i int, x []float32, rows int) {
	if i == len(p.net.Layers) {
		p.stats.Add(x, rows)
		return
	}
	l := p.net.Layers[i]
	span := l.Left() + l.Right()
	in := w.in[i]
	held := p.rows[i] * l.In
	copy(in, p.hist[i][:held])
	copy(in[held:], x[:rows*l.In])
	n := p.rows[i] + rows
	if n <= span {
		copy(p.hist[i], in[:n*l.In])
		p.rows[i] = n
		return
	}
	copy(p.hist[i], in[(n-span)*l.In:n*l.In])
	p.rows[i] = span
	// The layer runs on at most yieldRows output frames at a time, each
	// block's output going on down the layers at once, with a yield after
	// each block: a block's product has nowhere the runtime stops
	// cheaply, and streams compute flat out when callers' speech queues,
	// so without the yield a goroutine woken by a timer (the RTP pacer's
	// 20 ms tick) waits for Go's 10 ms asynchronous preemption, and on
	// one processor behind every runnable voice goroutine too. Gosched
	// runs the due timers and puts the goroutine they wake first. A block
	// takes at most 0.6 ms (int8) or 1.5 ms (float32) on the bench
	// machine, a Gosched under a microsecond. Each row of a product is
	// computed alike whatever the rows around it, so the blocks change
	// no result (TestBlocksSameResult).
	for r := 0; r < n-span; r += yieldRows {
		rows := min(yieldRows, n-span-r)
		out, k := w.ws.ApplyLayer(i, in[r*l.In:(r+rows+span)*l.In], rows+span)
		runtime.Gosched()
		p.feed(w, i+1, out, k)
	}
}

// yieldRows is how many frames a layer computes between yields: a
// stream's whole push (streamBatch plus the lookahead), a seventh of the
// Extractor's 400-frame chunks. A variable so that a test can compare
// with one block per push.
var yieldRows = 64

// finishChunk adds the current chunk's x-vector to the average, as
// nnet3-xvector-compute does, dropping chunks under minChunk frames.
func (p *pipeline) finishChunk(ws *nn.Workspace) {
	if p.chunk >= minChunk && p.stats.Count > 0 {
		ws.Embed(p.stats, p.raw)
		for i, v := range p.raw {
			p.acc[i] += float64(p.chunk) * float64(v)
		}
		p.tot += float64(p.chunk)
	}
	p.resetChunk()
}

// xvector writes the raw x-vector of everything pushed so far into dst
// (including the current partial chunk) and reports whether there was
// enough for one. It does not change the state.
func (p *pipeline) xvector(ws *nn.Workspace, dst []float32) bool {
	if !p.chunked {
		if p.stats.Count == 0 {
			return false
		}
		ws.Embed(p.stats, dst)
		return true
	}
	tot := p.tot
	cur := p.chunk >= minChunk && p.stats.Count > 0
	if cur {
		ws.Embed(p.stats, p.raw)
		tot += float64(p.chunk)
	}
	if tot == 0 {
		return false
	}
	for i := range dst {
		s := p.acc[i]
		if cur {
			s += float64(p.chunk) * float64(p.raw[i])
		}
		dst[i] = float32(s / tot)
	}
	return true
}
