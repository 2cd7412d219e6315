// Package web holds the pages the switch serves, embedded in the binary:
// the agent softphone (agent.html), the supervisor wallboard (board.html),
// the admin page (admin.html) and the website's call-back widget
// (callback.html). They are plain HTML, CSS and JavaScript ES modules with
// no build step and no third-party code; README.md describes them.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// FS returns the pages as a file system rooted at the static directory.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Handler serves the pages; "/" redirects to the softphone. Pages are
// revalidated on each load so an upgraded switch serves fresh scripts.
func Handler() http.Handler {
	files := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/agent.html", http.StatusFound)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		if strings.HasSuffix(r.URL.Path, ".html") {
			w.Header().Add("Content-Security-Policy", "default-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'")
		}
		files.ServeHTTP(w, r)
	})
}
