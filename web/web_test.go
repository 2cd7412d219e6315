package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// Every page's scripts, styles and imported modules are embedded, and no
// script writes HTML from strings (text from the switch, such as customer
// notes, must never be parsed as markup).
func TestPagesAreComplete(t *testing.T) {
	files := FS()
	ref := regexp.MustCompile(`(?:src|href)="([^"#:]+)"|from '\./([^']+)'`)
	var pages int
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		s := string(b)
		if strings.HasSuffix(path, ".js") {
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				if strings.Contains(s, bad) {
					t.Errorf("%s uses %s", path, bad)
				}
			}
		}
		if strings.HasSuffix(path, ".html") && (strings.Contains(s, " style=") || strings.Contains(s, "<script>") || strings.Contains(s, " onclick=")) {
			t.Errorf("%s has inline style or script, which the pages' CSP refuses", path)
		}
		if !strings.HasSuffix(path, ".html") && !strings.HasSuffix(path, ".js") {
			return nil
		}
		pages++
		for _, m := range ref.FindAllStringSubmatch(s, -1) {
			target := m[1] + m[2]
			if _, err := fs.Stat(files, target); err != nil {
				t.Errorf("%s refers to %s, which is not embedded", path, target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages < 10 {
		t.Fatalf("only %d pages and scripts embedded", pages)
	}
}

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/", http.StatusFound, ""},
		{"/agent.html", http.StatusOK, "text/html"},
		{"/agent.js", http.StatusOK, "javascript"},
		{"/style.css", http.StatusOK, "text/css"},
		{"/missing.html", http.StatusNotFound, ""},
		{"/../web.go", http.StatusNotFound, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x"+tc.path, nil))
			if rec.Code != tc.status && !(tc.status == http.StatusNotFound && rec.Code >= 300 && rec.Code < 500) {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.ctype != "" && !strings.Contains(rec.Header().Get("Content-Type"), tc.ctype) {
				t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}
