// Command report turns a directory of benchmark results (info.txt, *.bench
// files in Go benchmark format: `go test -bench` output and the native
// driver's) into Markdown tables, printed and written between the results
// markers of a Markdown file, and PNG plots. Statistics across repetitions
// (medians, their confidence intervals, comparisons of two samples) come
// from golang.org/x/perf's benchmath, as in benchstat; parsing from its
// benchfmt.
//
//	cd bench/report && go run . -in ../../bench/out/run-X -md ../../BENCHMARKS.md -plots ../plots
//
// It is a module of its own so that the root module does not depend on
// gonum.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", "", "results directory: info.txt and *.bench files (required)")
	md := flag.String("md", "", "Markdown file whose section between the results markers is replaced (created if missing; none if empty)")
	plots := flag.String("plots", "", "directory the PNG plots are written to (none if empty)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: report -in DIR [-md FILE.md] [-plots DIR]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *in == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *md, *plots, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// run reads the results in dir, writes the plots to plotsDir (if set),
// prints the Markdown section to stdout and puts it into mdPath (if set).
func run(dir, mdPath, plotsDir string, stdout, stderr io.Writer) error {
	r, err := Load(dir)
	if err != nil {
		return err
	}
	if len(r.Names) == 0 {
		fmt.Fprintf(stderr, "report: no benchmark lines in %s/*.bench\n", dir)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(stderr, "report: %s\n", e)
	}
	if !r.HasInfo {
		fmt.Fprintf(stderr, "report: %s has no info.txt\n", dir)
	}
	var plots []string
	if plotsDir != "" {
		abs, err := filepath.Abs(plotsDir)
		if err != nil {
			return err
		}
		if plots, err = Plots(r, abs, stderr); err != nil {
			return err
		}
	}
	mdDir := ""
	if mdPath != "" {
		if mdPath, err = filepath.Abs(mdPath); err != nil {
			return err
		}
		mdDir = filepath.Dir(mdPath)
	} else if len(plots) > 0 {
		mdDir, _ = os.Getwd()
	}
	src, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	content := Markdown(r, filepath.Base(src), plots, mdDir)
	if _, err := io.WriteString(stdout, content); err != nil {
		return err
	}
	if mdPath != "" {
		if err := UpdateFile(mdPath, content); err != nil {
			return err
		}
	}
	return nil
}
