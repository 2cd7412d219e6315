package voiceprint

import "github.com/voxdesk/voxdesk/voiceprint/nn"

// pipeline runs the network incrementally over voiced, normalised feature
// frames: each frame-level layer keeps the few input frames its context
// needs, so frames can be pushed in any batches and each is computed once.
// It pools either per Kaldi chunk (averaging chunk x-vectors) or over
// everything. The batch Extractor and the Stream share it.
type pipeline struct {
	net      *nn.Network
	ws       *nn.Workspace
	chunked  bool
	batchMax int
	hist     [][]float32 // per layer: input frames not yet consumed
	rows     []int       // frames held in hist
	stats    *nn.Stats   // current chunk (or everything)
	chunk    int         // input frames in the current chunk
	acc      []float64   // sum of chunk x-vectors weighted by length
	tot      float64     // total weight in acc
	raw      []float32
}

func newPipeline(net *nn.Network, chunked bool, batchMax int, ws *nn.Workspace) *pipeline {
	p := &pipeline{net: net, ws: ws, chunked: chunked, batchMax: batchMax,
		stats: net.NewStats(), acc: make([]float64, net.OutputDim), raw: make([]float32, net.OutputDim)}
	for _, l := range net.Layers {
		p.hist = append(p.hist, make([]float32, (l.Left()+l.Right()+batchMax)*l.In))
		p.rows = append(p.rows, 0)
	}
	return p
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

// push feeds n frames (InputDim values each).
func (p *pipeline) push(frames []float32, n int) {
	d := p.net.InputDim
	for n > 0 {
		take := min(n, p.batchMax)
		if p.chunked {
			take = min(take, p.net.MaxChunk-p.chunk)
		}
		p.feed(0, frames[:take*d], take)
		p.chunk += take
		frames, n = frames[take*d:], n-take
		if p.chunked && p.chunk == p.net.MaxChunk {
			p.finishChunk()
		}
	}
}

// feed appends rows frames to layer i's input and runs what it can.
func (p *pipeline) feed(i int, x []float32, rows int) {
	if i == len(p.net.Layers) {
		p.stats.Add(x, rows)
		return
	}
	l := p.net.Layers[i]
	span := l.Left() + l.Right()
	if p.rows[i] == 0 && rows > span {
		// Nothing held: run on x where it is and keep only its tail.
		out, k := p.ws.ApplyLayer(i, x, rows)
		copy(p.hist[i], x[(rows-span)*l.In:rows*l.In])
		p.rows[i] = span
		p.feed(i+1, out, k)
		return
	}
	copy(p.hist[i][p.rows[i]*l.In:], x[:rows*l.In])
	p.rows[i] += rows
	if p.rows[i] <= span {
		return
	}
	out, k := p.ws.ApplyLayer(i, p.hist[i], p.rows[i])
	copy(p.hist[i], p.hist[i][(p.rows[i]-span)*l.In:p.rows[i]*l.In])
	p.rows[i] = span
	p.feed(i+1, out, k)
}

// finishChunk adds the current chunk's x-vector to the average, as
// nnet3-xvector-compute does, dropping chunks under minChunk frames.
func (p *pipeline) finishChunk() {
	if p.chunk >= minChunk && p.stats.Count > 0 {
		p.ws.Embed(p.stats, p.raw)
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
func (p *pipeline) xvector(dst []float32) bool {
	if !p.chunked {
		if p.stats.Count == 0 {
			return false
		}
		p.ws.Embed(p.stats, dst)
		return true
	}
	tot := p.tot
	cur := p.chunk >= minChunk && p.stats.Count > 0
	if cur {
		p.ws.Embed(p.stats, p.raw)
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
