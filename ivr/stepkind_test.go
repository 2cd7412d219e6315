package ivr

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestStepKindsMatchSpec checks the step table against the language's
// specification (doc.go, section Steps): every kind is documented with
// exactly the fields it accepts, and the spec documents no other kind
// or field, so adding a kind to stepKinds without its spec, or the
// reverse, fails here.
func TestStepKindsMatchSpec(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	start, end := strings.Index(doc, "// # Steps"), strings.Index(doc, "// # Pressing 0")
	if start < 0 || end < start {
		t.Fatal("doc.go: no Steps section")
	}
	top := regexp.MustCompile(`^//\t([a-z]+)(:|\s|$)`)
	option := regexp.MustCompile(`^//\t  ([a-z][a-z, -]*):`)
	documented := map[string][]string{}
	kind := ""
	for _, line := range strings.Split(doc[start:end], "\n") {
		if m := top.FindStringSubmatch(line); m != nil {
			if _, ok := stepKinds[m[1]]; ok {
				kind = m[1]
				documented[kind] = []string{}
				continue
			}
			if kind == "" || !slices.Contains(stepKinds[kind].fields, m[1]) {
				t.Errorf("doc.go: %q is neither a step kind nor an option of %s", m[1], kind)
				continue
			}
			documented[kind] = append(documented[kind], m[1]) // an option written unindented (branch's else:)
			continue
		}
		m := option.FindStringSubmatch(line)
		if m == nil || kind == "" || kind == kindSet { // set's indented lines are the variables it sets
			continue
		}
		for _, f := range strings.Split(m[1], ",") {
			documented[kind] = append(documented[kind], strings.TrimSpace(f))
		}
	}
	for name, k := range stepKinds {
		got, ok := documented[name]
		if !ok {
			t.Errorf("step kind %s is not in doc.go's Steps section", name)
			continue
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(k.fields))
		if !slices.Equal(slices.Compact(got), want) {
			t.Errorf("step kind %s: doc.go documents fields %v, the table accepts %v", name, got, want)
		}
	}
}
