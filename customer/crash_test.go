package customer_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voxdesk/voxdesk/customer"
)

// The crash tests run an import or a series of enrolments in a child
// process (this test binary, re-executed with crashEnv set; TestMain hands
// it to crashChild) and SIGKILL it midway. The parent then checks that no
// half-written rows exist and that everything the child reported as
// committed is there.

const (
	crashEnv    = "VOXDESK_CUSTOMER_CRASH"
	crashDSNEnv = "VOXDESK_CUSTOMER_CRASH_DSN"
	crashKeyEnv = "VOXDESK_CUSTOMER_CRASH_KEY"

	crashImportRows = 4000
	crashCustomers  = 300
)

func crashCSV() string {
	var b strings.Builder
	b.WriteString("id,name,phones,notes\n")
	for i := range crashImportRows {
		fmt.Fprintf(&b, "new-%05d,New %d,+3320000%04d;+1555010%04d,\"n'; --%d\"\n", i, i, i, i, i)
	}
	return b.String()
}

// crashChild is the child process's main. Its protocol on stdout: "HALF"
// when the import transaction has written half its rows (it then waits to
// be killed), "OK i" after enrolment i committed, "KIND CUSTOMER N" for
// each change a following node sees (N: voiceprints it then reads).
func crashChild(mode string) int {
	ctx := context.Background()
	key, err := base64.StdEncoding.DecodeString(os.Getenv(crashKeyEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := customer.Open(ctx, os.Getenv(crashDSNEnv), customer.Config{Key: key}, customer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch mode {
	case "import":
		err = s.Import(ctx, strings.NewReader(crashCSV()), func(done, total int) {
			if done >= total/2 && done < total {
				fmt.Println("HALF")
				select {} // the parent kills us here, mid-transaction
			}
		})
	case "enrol":
		for i := range crashCustomers {
			id := fmt.Sprintf("c%03d", i)
			if _, err = s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: id, ModelID: "m", Embedding: embedding(i, 192), Utterances: i}, "crash-child"); err != nil {
				break
			}
			fmt.Println("OK", i)
		}
	case "follow":
		// A second switch node: report every change with what it reads.
		fmt.Println("READY")
		_, err = customer.Follow(ctx, s, 0, 20*time.Millisecond, func(c customer.Change) error {
			vps, err := s.Voiceprints(ctx, c.CustomerID, "node-2")
			if err != nil {
				return err
			}
			fmt.Println(c.Kind, c.CustomerID, len(vps))
			return nil
		})
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("DONE")
	select {}
}

// startChild runs crashChild(mode) on dsn and returns its stdout lines.
func startChild(t *testing.T, mode, dsn string, key []byte) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+mode, crashDSNEnv+"="+dsn, crashKeyEnv+"="+base64.StdEncoding.EncodeToString(key))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, crashCustomers+8)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	return cmd, lines
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
}

func TestCrash(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("import killed midway", func(t *testing.T) { testCrashImport(t, b) })
			t.Run("enrolment killed midway", func(t *testing.T) { testCrashEnrol(t, b) })
		})
	}
}

func testCrashImport(t *testing.T, b backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	dsn, key := b.newDSN(t), mustKey(t)
	s := openStore(t, dsn, customer.Config{Key: key})
	// Committed before the crash: must survive it unchanged.
	if err := s.Import(ctx, strings.NewReader("id,name,phones\nold-1,Old One,+33100000001\nold-2,Old Two,+33100000001\n"), nil); err != nil {
		t.Fatal(err)
	}
	before := exportString(t, ctx, s)

	cmd, lines := startChild(t, "import", dsn, key)
	select {
	case l := <-lines:
		if l != "HALF" {
			t.Fatalf("child said %q, want HALF", l)
		}
	case <-ctx.Done():
		t.Fatal("child never reached the middle of the import")
	}
	kill(t, cmd)

	s2 := openStore(t, dsn, customer.Config{Key: key})
	if after := exportString(t, ctx, s2); after != before {
		t.Errorf("after the killed import the store holds:\n%.600s\nwant exactly what was committed before:\n%s", after, before)
	}
	if cs, err := s2.CustomersByNumber(ctx, "+33200000000"); err != nil || len(cs) != 0 {
		t.Errorf("half-imported customers visible: %d, %v", len(cs), err)
	}
	// The same import, uninterrupted, lands whole: nothing was left locked.
	if err := s2.Import(ctx, strings.NewReader(crashCSV()), nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	s2.EachCustomer(ctx, func(customer.Customer) error { n++; return nil })
	if n != crashImportRows+2 {
		t.Errorf("%d customers after re-import, want %d", n, crashImportRows+2)
	}
}

func testCrashEnrol(t *testing.T, b backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	dsn, key := b.newDSN(t), mustKey(t)
	s := openStore(t, dsn, customer.Config{Key: key})
	var csv strings.Builder
	csv.WriteString("id,name\n")
	for i := range crashCustomers {
		fmt.Fprintf(&csv, "c%03d,Customer %d\n", i, i)
	}
	if err := s.Import(ctx, strings.NewReader(csv.String()), nil); err != nil {
		t.Fatal(err)
	}
	for i := range crashCustomers {
		consent(t, ctx, s, fmt.Sprintf("c%03d", i))
	}

	cmd, lines := startChild(t, "enrol", dsn, key)
	var committed []int
	for len(committed) < 25 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("child exited early")
			}
			i, err := strconv.Atoi(strings.TrimPrefix(l, "OK "))
			if err != nil {
				t.Fatalf("child said %q", l)
			}
			committed = append(committed, i)
		case <-ctx.Done():
			t.Fatal("child too slow")
		}
	}
	// Kill while the child is in the middle of its next enrolments.
	kill(t, cmd)
	for l := range lines { // what it printed before dying was committed too
		if i, err := strconv.Atoi(strings.TrimPrefix(l, "OK ")); err == nil {
			committed = append(committed, i)
		}
	}

	s2 := openStore(t, dsn, customer.Config{Key: key})
	stored := map[string]customer.Voiceprint{}
	if err := s2.AllVoiceprints(ctx, "crash-check", func(vp customer.Voiceprint) error {
		stored[vp.CustomerID] = vp
		return nil
	}); err != nil {
		t.Fatalf("reading voiceprints after the crash: %v", err)
	}
	for _, i := range committed {
		if _, ok := stored[fmt.Sprintf("c%03d", i)]; !ok {
			t.Errorf("enrolment %d was reported committed but is gone", i)
		}
	}
	// Every stored row is whole: it opens, and is what the child wrote.
	for id, vp := range stored {
		i, _ := strconv.Atoi(strings.TrimPrefix(id, "c"))
		if !reflect.DeepEqual(vp.Embedding, embedding(i, 192)) || vp.Utterances != i {
			t.Errorf("voiceprint of %s is not what was written", id)
		}
	}
	if len(stored) > len(committed)+1 {
		t.Errorf("%d voiceprints stored, only %d reported (+1 in flight)", len(stored), len(committed))
	}
	// The voiceprint, its audit entry and its change commit together.
	chs, err := s2.Changes(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, c := range chs {
		changed = append(changed, c.CustomerID)
	}
	audit, _ := s2.AuditLog(ctx, "", 10000)
	writes := 0
	for _, a := range audit {
		if a.Action == customer.AuditVoiceprintWrite {
			writes++
		}
	}
	keys := make([]string, 0, len(stored))
	for id := range stored {
		keys = append(keys, id)
	}
	slices.Sort(keys)
	slices.Sort(changed)
	if !slices.Equal(keys, changed) || writes != len(stored) {
		t.Errorf("%d voiceprints, %d changes, %d audited writes: want equal", len(stored), len(chs), writes)
	}
	// The store is usable: the next enrolment goes through.
	next := fmt.Sprintf("c%03d", crashCustomers-1)
	if _, err := s2.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: next, ModelID: "m", Embedding: embedding(1, 192)}, "after-crash"); err != nil {
		t.Errorf("enrolment after the crash: %v", err)
	}
	t.Logf("%s: killed after %d reported enrolments, %d stored", b.name, len(committed), len(stored))
}

// TestTwoProcesses is two switch nodes as two processes on one database:
// the child follows the change feed and reads what the parent enrols, and
// sees the erasure.
func TestTwoProcesses(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dsn, key := b.newDSN(t), mustKey(t)
			s := openStore(t, dsn, customer.Config{Key: key})
			put(t, ctx, s, customer.Customer{ID: "c1", Name: "Alice"})
			consent(t, ctx, s, "c1")
			_, lines := startChild(t, "follow", dsn, key)
			next := func() string {
				select {
				case l := <-lines:
					return l
				case <-ctx.Done():
					t.Fatal("the other node said nothing")
					return ""
				}
			}
			if l := next(); l != "READY" {
				t.Fatalf("child said %q", l)
			}
			if _, err := s.SaveVoiceprint(ctx, customer.Voiceprint{CustomerID: "c1", ModelID: "m", Embedding: embedding(1, 16)}, "node-1"); err != nil {
				t.Fatal(err)
			}
			if l := next(); l != "voiceprint.saved c1 1" {
				t.Errorf("other node saw %q, want the enrolment with 1 voiceprint readable", l)
			}
			if err := s.EraseBiometrics(ctx, "c1", "node-1"); err != nil {
				t.Fatal(err)
			}
			if l := next(); l != "biometrics.erased c1 0" {
				t.Errorf("other node saw %q, want the erasure with nothing left to read", l)
			}
		})
	}
}
