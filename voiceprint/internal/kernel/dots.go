package kernel

import "fmt"

// DotBlock is how many vectors one block of the int8 layout holds.
const DotBlock = 16

// DotsU8S8 computes, for each block of DotBlock vectors, their dot
// products with the signed query q (len(q) = dim, a multiple of 4):
//
//	for b := 0; b < nblocks; b++ {
//		for lane := 0; lane < DotBlock; lane++ {
//			var s int32
//			for i := 0; i < dim; i++ {
//				g, j := i/4, i%4
//				s += int32(blocks[b*dim*DotBlock+g*4*DotBlock+lane*4+j]) * int32(q[i])
//			}
//			out[b*DotBlock+lane] = s
//		}
//	}
//
// The vectors are unsigned bytes interleaved four at a time so that one
// AVX-512 VNNI instruction (VPDPBUSD) advances 16 vectors by 4 values.
func DotsU8S8(q []int8, blocks []uint8, nblocks int, out []int32) {
	dim := len(q)
	if dim%4 != 0 || nblocks < 0 || len(blocks) < nblocks*dim*DotBlock || len(out) < nblocks*DotBlock {
		panic(fmt.Sprintf("kernel: DotsU8S8 dim %d, %d blocks, %d bytes, %d outputs", dim, nblocks, len(blocks), len(out)))
	}
	if nblocks == 0 || dim == 0 {
		clear(out[:nblocks*DotBlock])
		return
	}
	dotsU8S8(q, blocks, nblocks, out)
}

// dotsU8S8Go is the portable DotsU8S8.
func dotsU8S8Go(q []int8, blocks []uint8, nblocks int, out []int32) {
	dim := len(q)
	for b := 0; b < nblocks; b++ {
		blk := blocks[b*dim*DotBlock : (b+1)*dim*DotBlock]
		var acc [DotBlock]int32
		for g := 0; g < dim/4; g++ {
			q0, q1, q2, q3 := int32(q[4*g]), int32(q[4*g+1]), int32(q[4*g+2]), int32(q[4*g+3])
			grp := blk[g*4*DotBlock : (g+1)*4*DotBlock]
			for lane := range acc {
				v := grp[lane*4 : lane*4+4 : lane*4+4]
				acc[lane] += int32(v[0])*q0 + int32(v[1])*q1 + int32(v[2])*q2 + int32(v[3])*q3
			}
		}
		copy(out[b*DotBlock:], acc[:])
	}
}
