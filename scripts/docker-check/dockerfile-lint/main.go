// Lints a Dockerfile with BuildKit's own rules (what `docker build --check` runs) and
// parses every stage; prints the warnings and exits 2 when there are any.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
)

// offline answers every base image with an empty Linux image config: the lint never
// reaches a registry (the base image's own ENV is then unknown to the UndefinedVar rule).
type offline struct{}

func (offline) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, "", []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}}`), nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-lint FILE")
		os.Exit(64)
	}
	ctx := context.Background()
	name := os.Args[1]
	dt, err := os.ReadFile(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	src := llb.Local("dockerfile")
	def, err := src.Marshal(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	smap := llb.NewSourceMap(&src, name, "Dockerfile", dt)
	smap.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{SourceMap: smap, MetaResolver: offline{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if res.Error != nil {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, res.Error.Message)
		os.Exit(1)
	}
	for _, w := range res.Warnings {
		line := int32(0)
		if len(w.Location.Ranges) > 0 {
			line = w.Location.Ranges[0].Start.Line
		}
		fmt.Printf("%s:%d: %s: %s (%s)\n", name, line, w.RuleName, w.Detail, w.URL)
	}
	if len(res.Warnings) > 0 {
		os.Exit(2)
	}
}
