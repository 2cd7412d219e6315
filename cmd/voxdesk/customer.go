package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/service"
)

func init() {
	register(command{Name: "customer", Summary: "manage customer files (customer import|export|enrol|erase-biometrics|rotate-key)", Run: func(ctx context.Context, args []string) error {
		return subcommands(ctx, "customer", args, map[string]func(context.Context, []string) error{
			"import":           func(ctx context.Context, args []string) error { return customerImport(ctx, args, os.Stdout, os.Stderr) },
			"export":           func(ctx context.Context, args []string) error { return customerExport(ctx, args, os.Stdout, os.Stderr) },
			"enrol":            func(ctx context.Context, args []string) error { return customerEnrol(ctx, args, os.Stdout, os.Stderr) },
			"erase-biometrics": func(ctx context.Context, args []string) error { return customerErase(ctx, args, os.Stdout, os.Stderr) },
			"rotate-key": func(ctx context.Context, args []string) error {
				return customerRotateKey(ctx, args, os.Stdout, os.Stderr)
			},
		})
	}})
}

// customerFlags are the flags every customer verb takes.
type customerFlags struct {
	fset *flag.FlagSet
	db   *string
}

func newCustomerFlags(verb, usage string, stderr io.Writer) customerFlags {
	fset := flag.NewFlagSet("customer "+verb, flag.ContinueOnError)
	fset.SetOutput(stderr)
	f := customerFlags{fset: fset, db: fset.String("db", customer.DefaultDSN, "database: sqlite:PATH or postgres://...")}
	fset.Usage = func() {
		fmt.Fprintf(stderr, "usage: voxdesk customer %s %s\n", verb, usage)
		fset.PrintDefaults()
	}
	return f
}

// open opens the store with the voiceprint key from $VOXDESK_VOICEPRINT_KEY
// (none is fine for verbs that do not open voiceprints).
func (f customerFlags) open(ctx context.Context, stderr io.Writer) (*customer.DB, error) {
	key, err := customer.KeyFromEnv()
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return customer.Open(ctx, *f.db, customer.Config{Key: key}, customer.WithLogger(log))
}

// newProgressBar draws a progress bar of total steps on w.
func newProgressBar(w io.Writer, total int, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

// cliActor names the person at the terminal in the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// customerImport runs "voxdesk customer import [--db DSN] [--dry-run] FILE.csv".
func customerImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCustomerFlags("import", "[--db DSN] [--dry-run] FILE.csv", stderr)
	dry := f.fset.Bool("dry-run", false, "check the file, write nothing")
	quiet := f.fset.Bool("quiet", false, "no progress bar")
	if err := parseInterspersed(f.fset, args); err != nil {
		return err
	}
	if f.fset.NArg() != 1 {
		return usagef("customer import needs one CSV file")
	}
	file, err := os.Open(f.fset.Arg(0))
	if err != nil {
		return err
	}
	defer file.Close()
	if *dry {
		cs, err := customer.ParseCSV(file)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: ok, %d customers\n", f.fset.Arg(0), len(cs))
		return nil
	}
	s, err := f.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	var bar *progressbar.ProgressBar
	count := 0
	start := time.Now()
	err = s.Import(ctx, file, func(done, total int) {
		count = total
		if *quiet {
			return
		}
		if bar == nil {
			bar = newProgressBar(stderr, total, "importing")
		}
		bar.Set(done)
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d customers into %s in %v\n", count, *f.db, time.Since(start).Round(time.Millisecond))
	return nil
}

// customerExport runs "voxdesk customer export [--db DSN] [-o FILE]".
func customerExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCustomerFlags("export", "[--db DSN] [-o FILE.csv]", stderr)
	out := f.fset.String("o", "", "write to this file instead of standard output")
	if err := f.fset.Parse(args); err != nil {
		return err
	}
	if f.fset.NArg() != 0 {
		return usagef("customer export takes no arguments (use -o FILE)")
	}
	s, err := f.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	if *out == "" {
		return s.Export(ctx, stdout)
	}
	// Write beside the target and rename, so a failed export leaves no
	// truncated file behind.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".export-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := s.Export(ctx, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), *out)
}

// customerEnrol runs "voxdesk customer enrol [--db DSN] --manifest FILE.csv
// [--consent REF] [--min-speech DUR]": bulk enrolment from recordings. See
// service.ParseManifest for the file and service.RecordingEnroller for the
// rules; every refused row is printed with its line and reason, and the
// command fails (exit 1) when any was, after enrolling the rest.
func customerEnrol(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCustomerFlags("enrol", "[--db DSN] --manifest FILE.csv [--consent REF] [--min-speech DUR]", stderr)
	manifest := f.fset.String("manifest", "", "CSV with the header customer_id,file: one recording per row, several rows per customer allowed, paths absolute or relative to the CSV")
	consent := f.fset.String("consent", "", "record a consent (method import, this reference) for customers without a current one; without it they are refused")
	minSpeech := f.fset.Duration("min-speech", 8*time.Second, "net speech (after voice activity detection) a customer's recordings must hold together")
	actor := f.fset.String("actor", cliActor(), "who enrols, for consent records and the audit log")
	refusedOut := f.fset.String("refused", "", "also write the refused rows to this file, as a manifest to fix and run again")
	quiet := f.fset.Bool("quiet", false, "no progress bar")
	a := audioFlags{model: f.fset.String("model", "", "speaker model folder (default: the installed one, see voxdesk model fetch)")}
	if err := parseInterspersed(f.fset, args); err != nil {
		return err
	}
	switch {
	case *manifest == "" || f.fset.NArg() != 0:
		return usagef("customer enrol needs --manifest FILE.csv and no arguments")
	case *minSpeech <= 0 || *minSpeech > time.Hour:
		return usagef("--min-speech %v: want a duration between 0 and 1h", *minSpeech)
	}
	mf, err := os.Open(*manifest)
	if err != nil {
		return err
	}
	rows, err := service.ParseManifest(mf)
	mf.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *manifest, err)
	}
	if key, err := customer.KeyFromEnv(); err != nil || key == nil {
		return cmp.Or(err, fmt.Errorf("%w: set $%s", customer.ErrNoKey, customer.KeyEnv))
	}
	model, err := a.open()
	if err != nil {
		return err
	}
	s, err := f.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	en := &service.RecordingEnroller{DB: s, Model: model, Actor: *actor, ConsentRef: *consent, MinSpeech: *minSpeech}
	var bar *progressbar.ProgressBar
	if !*quiet && len(rows) > 0 {
		bar = newProgressBar(stderr, len(rows), "enrolling")
	}
	start := time.Now()
	rep, err := en.EnrolManifest(ctx, rows, filepath.Dir(*manifest), func(done, total int) {
		if bar != nil {
			bar.Set(done)
		}
	})
	if bar != nil {
		bar.Finish()
	}
	for _, r := range rep.Refused {
		fmt.Fprintf(stdout, "%s:%d: customer %q, %s: refused: %s\n", *manifest, r.Line, r.CustomerID, r.File, r.Reason)
	}
	fmt.Fprintf(stdout, "enrolled %d customers from %d recordings into %s in %v; %d of %d rows refused\n",
		len(rep.Enrolled), rep.Rows, customer.RedactDSN(*f.db), time.Since(start).Round(time.Millisecond), len(rep.Refused), len(rows))
	if err != nil {
		return err
	}
	if len(rep.Refused) == 0 {
		return nil
	}
	again := "fix and enrol those rows alone (not the whole manifest: enrolled rows would count twice)"
	if *refusedOut != "" {
		rows := make([]service.ManifestRow, len(rep.Refused))
		for i, r := range rep.Refused {
			rows[i] = r.ManifestRow
		}
		var b bytes.Buffer
		if err := service.WriteManifest(&b, rows, filepath.Dir(*manifest)); err != nil {
			return err
		}
		if err := os.WriteFile(*refusedOut, b.Bytes(), 0o600); err != nil {
			return err
		}
		again = "they are in " + *refusedOut + ", to fix and enrol alone"
	}
	return fmt.Errorf("%d rows refused (listed above), the store unchanged for their customers; %s", len(rep.Refused), again)
}

// customerErase runs "voxdesk customer erase-biometrics [--db DSN] [--actor WHO] ID".
func customerErase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCustomerFlags("erase-biometrics", "[--db DSN] [--actor WHO] CUSTOMER-ID", stderr)
	actor := f.fset.String("actor", cliActor(), "who asks, for the audit log")
	if err := parseInterspersed(f.fset, args); err != nil {
		return err
	}
	if f.fset.NArg() != 1 {
		return usagef("customer erase-biometrics needs one customer id")
	}
	id := f.fset.Arg(0)
	s, err := f.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.EraseBiometrics(ctx, id, *actor); err != nil {
		return err
	}
	entries, err := s.AuditLog(ctx, id, 1)
	if err != nil || len(entries) == 0 {
		return fmt.Errorf("erased, but the audit entry cannot be read back: %v", err)
	}
	e := entries[0]
	fmt.Fprintf(stdout, "erased biometrics of %q (%s); audit entry %d at %s by %s\n",
		id, e.Detail, e.Seq, e.At.Format(time.RFC3339), e.Actor)
	return nil
}

// customerRotateKey runs "voxdesk customer rotate-key --new-key-file FILE".
// The old key comes from --old-key-file or $VOXDESK_VOICEPRINT_KEY; a new
// key file that does not exist is created with a fresh key (mode 0600).
// Keys are never taken on the command line, where ps would show them.
func customerRotateKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newCustomerFlags("rotate-key", "[--db DSN] [--old-key-file FILE] --new-key-file FILE", stderr)
	oldFile := f.fset.String("old-key-file", "", "file holding the current key (default: $"+customer.KeyEnv+")")
	newFile := f.fset.String("new-key-file", "", "file holding the new key; created with a fresh key if missing")
	actor := f.fset.String("actor", cliActor(), "who asks, for the audit log")
	if err := f.fset.Parse(args); err != nil {
		return err
	}
	if f.fset.NArg() != 0 || *newFile == "" {
		return usagef("customer rotate-key needs --new-key-file FILE and no arguments")
	}
	var oldKey []byte
	var err error
	if *oldFile != "" {
		oldKey, err = readKeyFile(*oldFile)
	} else if oldKey, err = customer.KeyFromEnv(); err == nil && oldKey == nil {
		err = fmt.Errorf("no current key: set $%s or give --old-key-file", customer.KeyEnv)
	}
	if err != nil {
		return err
	}
	created := false
	if _, statErr := os.Stat(*newFile); errors.Is(statErr, os.ErrNotExist) {
		if err := os.WriteFile(*newFile, []byte(customer.NewKey()+"\n"), 0o600); err != nil {
			return err
		}
		created = true
	}
	newKey, err := readKeyFile(*newFile)
	if err != nil {
		return err
	}
	s, err := customer.Open(ctx, *f.db, customer.Config{Key: oldKey},
		customer.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.RotateKey(ctx, oldKey, newKey, *actor)
	if err != nil {
		if created {
			os.Remove(*newFile)
		}
		return err
	}
	fmt.Fprintf(stdout, "re-sealed %d rows from key %s to key %s\n", n, customer.KeyID(oldKey), customer.KeyID(newKey))
	if created {
		fmt.Fprintf(stdout, "new key written to %s\n", *newFile)
	}
	fmt.Fprintf(stdout, "set %s to the content of %s on every node (keep the old key in the config's old keys until all have restarted)\n",
		customer.KeyEnv, *newFile)
	return nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := customer.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
