package customer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/voxdesk/voxdesk/customer"
)

func benchCSV(n int) string {
	var b strings.Builder
	b.WriteString("id,name,phones,segment,vip,preferred_advisor,notes,lang\n")
	for i := range n {
		fmt.Fprintf(&b, "C-%07d,Customer %d,+3363998%04d;+1202555%04d,retail,false,agent-%d,\"Some notes, about %d\",fr\n",
			i, i, i%10000, i%10000, i%50, i)
	}
	return b.String()
}

// BenchmarkImport imports n customers (two numbers each) into an empty
// store per iteration; customers/s is the figure.
func BenchmarkImport(b *testing.B) {
	for _, be := range backends {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%d", be.name, n), func(b *testing.B) {
				data := benchCSV(n)
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					s := openStore(b, be.newDSN(b), customer.Config{})
					b.StartTimer()
					if err := s.Import(context.Background(), strings.NewReader(data), nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "customers/s")
			})
		}
	}
}

// BenchmarkAllVoiceprints streams n sealed 128-value voiceprints (the
// start-up index load); voiceprints/s is the figure.
func BenchmarkAllVoiceprints(b *testing.B) {
	const n = 100_000
	for _, be := range backends {
		b.Run(fmt.Sprintf("%s/%d", be.name, n), func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, be.newDSN(b), customer.Config{Key: mustKey(b)})
			var ids strings.Builder
			ids.WriteString("id,name\n")
			for i := range n {
				fmt.Fprintf(&ids, "C-%07d,Customer %d\n", i, i)
			}
			if err := s.Import(ctx, strings.NewReader(ids.String()), nil); err != nil {
				b.Fatal(err)
			}
			vps := make([]customer.Voiceprint, n)
			for i := range vps {
				vps[i] = customer.Voiceprint{CustomerID: fmt.Sprintf("C-%07d", i), ModelID: "vosk-spk-0.4", Embedding: embedding(i, 128), Utterances: 3}
			}
			if err := customer.SeedVoiceprints(ctx, s, vps); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				got := 0
				if err := s.AllVoiceprints(ctx, "bench", func(customer.Voiceprint) error { got++; return nil }); err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatalf("%d voiceprints, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "voiceprints/s")
		})
	}
}

// BenchmarkSaveVoiceprint is one enrolment: a transaction with the
// consent check, the sealed row, its audit entry and change (one commit,
// synchronous on SQLite).
func BenchmarkSaveVoiceprint(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b, be.newDSN(b), customer.Config{Key: mustKey(b)})
			if err := s.PutCustomer(ctx, customer.Customer{ID: "c1", Name: "A"}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.GiveConsent(ctx, customer.Consent{CustomerID: "c1", Method: customer.ConsentIVR, GivenBy: "ivr"}); err != nil {
				b.Fatal(err)
			}
			vp := customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: embedding(1, 128), Utterances: 1}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SaveVoiceprint(ctx, vp, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
