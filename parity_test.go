package s2n

import (
	"bufio"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var updateParity = flag.Bool("update", false, "TestParity: rewrite PARITY.md")

// The coverage table of s2n-tls's API (PARITY.md) is generated here from
// four sources, so it cannot drift from the code: the functions the pinned
// headers declare, the ones the binding calls, the Go API whose doc comment
// names each called function in parentheses, and parity_reasons.tsv, which
// says why each other function is not wrapped.

const (
	parityFile        = "PARITY.md"
	parityReasonsFile = "parity_reasons.tsv"
	// Lower bounds on what the header parser must find, so that a parser
	// broken by a new header layout cannot pass with a short list.
	parityMinS2nH     = 250
	parityMinUnstable = 40
)

// The kinds a reason may start with; the totals count each.
var parityKinds = []string{
	"deprecated",
	"Go idiom",
	"binding-owned",
	"unsafe",
	"not yet: parity part 1",
	"not yet: parity part 2",
	"not yet: no issue",
}

type parityFunc struct {
	name, header string // header: "s2n.h" or "unstable/<name>.h"
}

type parityAPI struct {
	name, file string // "Config.SetCipherPreferences", "config.go"
}

type parityReason struct {
	area, text string
	line       int
}

func TestParity(t *testing.T) {
	funcs := parityHeaderFuncs(t)
	declared := map[string]bool{}
	for _, f := range funcs {
		declared[f.name] = true
	}
	fset, files := parityGoFiles(t)
	called := parityCalled(t, files, declared)
	apis := parityDocMentions(fset, files, declared)
	reasons := parityReadReasons(t)

	var problems []string
	for _, f := range funcs {
		r, hasReason := reasons[f.name]
		switch {
		case called[f.name] && len(apis[f.name]) == 0:
			problems = append(problems, fmt.Sprintf("%s is called by the binding but named in no Go doc comment: add \"(%s)\" to the doc comment of the Go API that wraps it", f.name, f.name))
		case !called[f.name] && len(apis[f.name]) > 0:
			problems = append(problems, fmt.Sprintf("%s is named in the doc comment of %s but the binding never calls it", f.name, parityAPINames(apis[f.name], "")))
		case called[f.name] && hasReason:
			problems = append(problems, fmt.Sprintf("%s:%d: %s is wrapped now: delete its row", parityReasonsFile, r.line, f.name))
		case !called[f.name] && !hasReason:
			problems = append(problems, fmt.Sprintf("%s (%s) is neither wrapped nor given a reason: add a row \"%s<TAB>area<TAB>reason\" to %s", f.name, f.header, f.name, parityReasonsFile))
		}
	}
	for name, r := range reasons {
		if !declared[name] {
			problems = append(problems, fmt.Sprintf("%s:%d: %s is declared in no pinned header: delete its row", parityReasonsFile, r.line, name))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Fatalf("PARITY.md cannot be generated, %d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}

	want := parityRender(funcs, apis, reasons)
	if *updateParity {
		if err := os.WriteFile(parityFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", parityFile)
		return
	}
	got, err := os.ReadFile(parityFile)
	if err != nil {
		t.Fatalf("%v: generate it with: go test -run TestParity -update .", err)
	}
	if string(got) != want {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of file)"
		}
		t.Fatalf("%s is out of date; first difference at line %d:\n  committed: %s\n  expected:  %s\nregenerate it with: go test -run TestParity -update .",
			parityFile, i+1, line(gl), line(wl))
	}
}

// parityHeaderDir is the pinned s2n-tls API directory, named after the
// s2n-tls-sys version in third_party/deps.lock.
func parityHeaderDir(t *testing.T) string {
	lock, err := os.ReadFile("third_party/deps.lock")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(lock)) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "s2n-tls-sys" {
			dir := filepath.Join("third_party", "s2n-tls-sys-"+f[1], "lib", "api")
			if _, err := os.Stat(filepath.Join(dir, "s2n.h")); err != nil {
				t.Fatalf("the pinned s2n-tls headers are missing (%v): run scripts/fetch-deps s2n-tls-sys", err)
			}
			return dir
		}
	}
	t.Fatal("third_party/deps.lock pins no s2n-tls-sys")
	return ""
}

var (
	// A comment or a string or character literal, whichever starts first.
	cNonCode   = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'`)
	cDirective = regexp.MustCompile(`(?m)^[ \t]*#(?:[^\n]*\\\n)*[^\n]*`)
	cIdent     = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	s2nIdent   = regexp.MustCompile(`\bs2n_[A-Za-z0-9_]+`)
)

// cCode is C source without comments and string or character literals.
func cCode(src string) string {
	return cNonCode.ReplaceAllString(src, " ")
}

// parityHeaderFuncs parses every function declared with S2N_API in s2n.h
// and api/unstable/*.h: each declaration runs from S2N_API to its ';' and
// may span lines; the name is the identifier before its first '('.
func parityHeaderFuncs(t *testing.T) []parityFunc {
	dir := parityHeaderDir(t)
	unstable, err := filepath.Glob(filepath.Join(dir, "unstable", "*.h"))
	if err != nil {
		t.Fatal(err)
	}
	var funcs []parityFunc
	seen := map[string]string{}
	count := map[bool]int{} // by "is s2n.h"
	for _, path := range append([]string{filepath.Join(dir, "s2n.h")}, unstable...) {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		header, _ := filepath.Rel(dir, path)
		code := cDirective.ReplaceAllString(cCode(string(src)), "")
		rest := code
		for {
			i := strings.Index(rest, "S2N_API")
			if i < 0 {
				break
			}
			rest = rest[i+len("S2N_API"):]
			end := strings.IndexAny(rest, ";{")
			if end < 0 {
				t.Fatalf("%s: an S2N_API declaration has no end: %.80q", header, rest)
			}
			decl := rest[:end]
			rest = rest[end:]
			paren := strings.IndexByte(decl, '(')
			if paren < 0 {
				continue // a variable: s2n_errno
			}
			ids := cIdent.FindAllString(decl[:paren], -1)
			if len(ids) == 0 {
				t.Fatalf("%s: no function name in S2N_API%s", header, decl)
			}
			name := ids[len(ids)-1]
			if prev, dup := seen[name]; dup {
				t.Fatalf("%s is declared in both %s and %s", name, prev, header)
			}
			seen[name] = header
			funcs = append(funcs, parityFunc{name, header})
			count[header == "s2n.h"]++
		}
	}
	if count[true] < parityMinS2nH || count[false] < parityMinUnstable {
		t.Fatalf("the header parser found %d functions in s2n.h (expected at least %d) and %d in unstable/*.h (at least %d): it is broken",
			count[true], parityMinS2nH, count[false], parityMinUnstable)
	}
	t.Logf("headers in %s: %d functions in s2n.h, %d in unstable/*.h", dir, count[true], count[false])
	return funcs
}

// parityGoFiles parses the package's non-test Go files with comments.
func parityGoFiles(t *testing.T) (*token.FileSet, []*ast.File) {
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return fset, files
}

// parityCalled reports the declared functions the binding calls: the
// identifiers of the C glue (the root *.c and *.h files, outside comments
// and literals), and C.<name> in the Go files.
func parityCalled(t *testing.T, files []*ast.File, declared map[string]bool) map[string]bool {
	called := map[string]bool{}
	var glue []string
	for _, pat := range []string{"*.c", "*.h"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		glue = append(glue, m...)
	}
	if len(glue) == 0 {
		t.Fatal("no C glue (*.c, *.h) in the package directory")
	}
	for _, p := range glue {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range cIdent.FindAllString(cCode(string(src)), -1) {
			if declared[id] {
				called[id] = true
			}
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "C" && declared[sel.Sel.Name] {
					called[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	return called
}

// parityDocMentions maps each declared function to the Go declarations
// whose doc comment names it inside parentheses: functions, methods
// (Type.Method), types, struct fields (Type.Field), constants and
// variables (a grouped declaration's doc counts for its first name).
func parityDocMentions(fset *token.FileSet, files []*ast.File, declared map[string]bool) map[string][]parityAPI {
	mentions := map[string][]parityAPI{}
	add := func(name string, pos token.Pos, docs ...*ast.CommentGroup) {
		file := filepath.Base(fset.Position(pos).Filename)
		for _, fn := range parenMentions(docs...) {
			if declared[fn] {
				api := parityAPI{name, file}
				if !slices.Contains(mentions[fn], api) {
					mentions[fn] = append(mentions[fn], api)
				}
			}
		}
	}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				name := d.Name.Name
				if d.Recv != nil && len(d.Recv.List) == 1 {
					name = recvTypeName(d.Recv.List[0].Type) + "." + name
				}
				add(name, d.Pos(), d.Doc)
			case *ast.GenDecl:
				for i, s := range d.Specs {
					groupDoc := d.Doc
					if i > 0 {
						groupDoc = nil
					}
					switch s := s.(type) {
					case *ast.TypeSpec:
						add(s.Name.Name, s.Pos(), groupDoc, s.Doc, s.Comment)
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, fld := range st.Fields.List {
								for _, n := range fld.Names {
									add(s.Name.Name+"."+n.Name, fld.Pos(), fld.Doc, fld.Comment)
								}
							}
						}
					case *ast.ValueSpec:
						add(s.Names[0].Name, s.Pos(), groupDoc, s.Doc, s.Comment)
					}
				}
			}
		}
	}
	return mentions
}

func recvTypeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvTypeName(e.X)
	case *ast.IndexExpr:
		return recvTypeName(e.X)
	case *ast.IndexListExpr:
		return recvTypeName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return "?"
}

// parenMentions returns the s2n_ identifiers inside parentheses (at any
// depth) in the comments: "(s2n_config_set_cipher_preferences)",
// "(s2n_a, s2n_b)", "(s2n_a; default 30 s)".
func parenMentions(docs ...*ast.CommentGroup) []string {
	var out []string
	for _, d := range docs {
		if d == nil {
			continue
		}
		text := d.Text()
		depth, start := 0, 0
		for i := 0; i <= len(text); i++ {
			if i < len(text) && text[i] != '(' && text[i] != ')' {
				continue
			}
			if depth > 0 {
				out = append(out, s2nIdent.FindAllString(text[start:i], -1)...)
			}
			if i == len(text) {
				break
			}
			if text[i] == '(' {
				depth++
			} else if depth > 0 {
				depth--
			}
			start = i + 1
		}
	}
	return out
}

// parityReadReasons reads parity_reasons.tsv: "function<TAB>area<TAB>reason"
// rows; blank lines and lines starting with '#' are skipped.
func parityReadReasons(t *testing.T) map[string]parityReason {
	f, err := os.Open(parityReasonsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reasons := map[string]parityReason{}
	var problems []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		fields := strings.Split(l, "\t")
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s:%d: ", parityReasonsFile, n)+fmt.Sprintf(format, args...))
		}
		if len(fields) != 3 || fields[0] == "" || fields[1] == "" || fields[2] == "" {
			bad("want 3 non-empty tab-separated fields (function, area, reason), got %q", l)
			continue
		}
		name, area, text := fields[0], fields[1], fields[2]
		if prev, dup := reasons[name]; dup {
			bad("%s already has a reason on line %d", name, prev.line)
		}
		if parityKind(text) == "" {
			bad("the reason of %s must start with one of %q", name, parityKinds)
		}
		if strings.Contains(text, "|") || strings.Contains(area, "|") {
			bad("'|' would break the Markdown table")
		}
		reasons[name] = parityReason{area, text, n}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("%s:\n  %s", parityReasonsFile, strings.Join(problems, "\n  "))
	}
	return reasons
}

func parityKind(reason string) string {
	for _, k := range parityKinds {
		if reason == k || strings.HasPrefix(reason, k+":") || strings.HasPrefix(reason, k+" (") {
			return k
		}
	}
	return ""
}

// parityArea is the area of a wrapped function: the Go file (without .go)
// holding the most of its Go APIs, the first by name on a tie.
func parityArea(apis []parityAPI) string {
	n := map[string]int{}
	best := ""
	for _, a := range apis {
		n[a.file]++
	}
	for file, c := range n {
		if best == "" || c > n[best] || c == n[best] && file < best {
			best = file
		}
	}
	return strings.TrimSuffix(best, ".go")
}

// parityAPINames lists the Go APIs, naming the file of those outside area.
func parityAPINames(apis []parityAPI, area string) string {
	var s []string
	for _, a := range apis {
		if strings.TrimSuffix(a.file, ".go") == area {
			s = append(s, "`"+a.name+"`")
		} else {
			s = append(s, "`"+a.name+"` ("+a.file+")")
		}
	}
	return strings.Join(s, ", ")
}

func parityRender(funcs []parityFunc, apis map[string][]parityAPI, reasons map[string]parityReason) string {
	type row struct{ fn, header, area, what, kind string }
	var rows []row
	for _, f := range funcs {
		if a := apis[f.name]; len(a) > 0 {
			slices.SortFunc(a, func(x, y parityAPI) int {
				return strings.Compare(x.file+"\x00"+x.name, y.file+"\x00"+y.name)
			})
			area := parityArea(a)
			rows = append(rows, row{f.name, f.header, area, parityAPINames(a, area), "wrapped"})
			continue
		}
		r := reasons[f.name]
		rows = append(rows, row{f.name, f.header, r.area, r.text, parityKind(r.text)})
	}
	headerOrder := func(h string) string {
		if h == "s2n.h" {
			return ""
		}
		return h
	}
	slices.SortFunc(rows, func(x, y row) int {
		return strings.Compare(headerOrder(x.header)+"\x00"+x.fn, headerOrder(y.header)+"\x00"+y.fn)
	})

	type tally map[string]int // kind -> count; "" -> total
	byHeader, byArea := map[string]tally{}, map[string]tally{}
	var headers, areas []string
	count := func(m map[string]tally, keys *[]string, key, kind string) {
		if m[key] == nil {
			m[key] = tally{}
			*keys = append(*keys, key)
		}
		m[key][kind]++
		m[key][""]++
	}
	for _, r := range rows {
		count(byHeader, &headers, r.header, r.kind)
		if r.header != "s2n.h" {
			count(byHeader, &headers, "unstable/*.h (all)", r.kind)
		}
		count(byArea, &areas, r.area, r.kind)
	}
	slices.SortFunc(headers, func(x, y string) int { return strings.Compare(headerOrder(x), headerOrder(y)) })
	slices.Sort(areas)

	var b strings.Builder
	b.WriteString(`# s2n-tls API parity

Generated by ` + "`TestParity`" + ` (parity_test.go); do not edit by hand. Regenerate with
` + "`go test -run TestParity -update .`" + ` after changing the C glue, a Go doc comment
or parity_reasons.tsv.

The test parses every function declared with ` + "`S2N_API`" + ` in the pinned s2n-tls
headers (` + "`lib/api/s2n.h`" + ` and ` + "`lib/api/unstable/*.h`" + ` of the s2n-tls-sys version in
third_party/deps.lock; it fails if it finds fewer than ` + fmt.Sprint(parityMinS2nH) + ` in s2n.h or ` + fmt.Sprint(parityMinUnstable) + ` in
unstable). A function is wrapped when the binding calls it: its name appears in
the C glue (the root *.c and *.h files, outside comments and string literals)
or as ` + "`C.<name>`" + ` in a Go file. The test fails when

- a wrapped function is named in no Go doc comment: the convention is that the
  doc comment of the Go API wrapping it names it in parentheses, e.g.
  "(s2n_config_set_cipher_preferences)";
- a doc comment names, in parentheses, a declared function the binding does not call;
- a function is neither wrapped nor given a reason in parity_reasons.tsv, or a
  reason is given for a wrapped or undeclared function, or a reason does not
  start with one of its kinds;
- this file differs from what the test generates.

For a wrapped function, the area is the Go file holding its Go API (the one
holding most of them if several do) and the last column lists every Go
declaration whose doc comment names it; for the others, area and reason come
from parity_reasons.tsv.

## Totals by header

`)
	b.WriteString("| header | wrapped / total |")
	for _, k := range parityKinds {
		b.WriteString(" " + k + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(parityKinds)) + "\n")
	for _, h := range headers {
		fmt.Fprintf(&b, "| %s | %d / %d |", h, byHeader[h]["wrapped"], byHeader[h][""])
		for _, k := range parityKinds {
			fmt.Fprintf(&b, " %d |", byHeader[h][k])
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Totals by area\n\n| area | wrapped / total |\n|---|---|\n")
	for _, a := range areas {
		fmt.Fprintf(&b, "| %s | %d / %d |\n", a, byArea[a]["wrapped"], byArea[a][""])
	}
	b.WriteString("\n## Functions\n\n| function | header | area | Go API (or reason) |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.fn, r.header, r.area, r.what)
	}
	return b.String()
}
