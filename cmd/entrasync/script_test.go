package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/entrasync/entrasync/graphsim"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"entrasync": func() { os.Exit(profiled(os.Args[1:])) },
	})
}

type simKey struct{}

// TestScripts runs the CLI scripts in testdata/script. Each script gets its
// own graphsim, seeded from fixture.json in the script when there is one and
// from the demo tenant otherwise, at $ENTRASYNC_GRAPH_URL.
//
// Commands besides testscript's own:
//
//	exitcode N entrasync ARGS...  run entrasync in-process and require exit code N
//	sim-reset-log                 forget the simulator's request log
//	sim-writes N                  require N write requests since the last reset
//	replace FILE OLD NEW          replace every OLD in FILE by NEW (OLD must occur)
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			fx := graphsim.DemoFixture()
			if b, err := os.ReadFile(filepath.Join(env.WorkDir, "fixture.json")); err == nil {
				if fx, err = graphsim.LoadFixture(bytes.NewReader(b)); err != nil {
					return fmt.Errorf("fixture.json: %w", err)
				}
			}
			sim := graphsim.New(graphsim.Options{Fixture: fx, Seed: 1})
			url, stop, err := sim.Start()
			if err != nil {
				return err
			}
			env.Defer(stop)
			env.Setenv("ENTRASYNC_GRAPH_URL", url)
			env.Setenv("NO_COLOR", "1")
			env.Values[simKey{}] = sim
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 || args[1] != "entrasync" {
					ts.Fatalf("usage: exitcode N entrasync ARGS...")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				// The same binary testscript's exec runs (Main put it on PATH),
				// in the script's directory and environment.
				cmd := exec.Command("entrasync", args[2:]...)
				cmd.Dir = ts.Getenv("WORK")
				cmd.Env = append(os.Environ(), "ENTRASYNC_GRAPH_URL="+ts.Getenv("ENTRASYNC_GRAPH_URL"), "NO_COLOR=1", "HOME="+ts.Getenv("HOME"))
				cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
				got := 0
				if err := cmd.Run(); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("run entrasync: %v", err)
					}
					got = ee.ExitCode()
				}
				if (got == want) == neg {
					ts.Fatalf("exit code %d, want %d", got, want)
				}
			},
			// paste-hint runs, as a user pasting it would, the command the
			// previous entrasync printed after "Apply exactly this plan
			// with: ", and checks that it succeeds.
			"paste-hint": func(ts *testscript.TestScript, neg bool, args []string) {
				_, line, ok := strings.Cut(ts.ReadFile("stderr"), "Apply exactly this plan with: ")
				if !ok {
					ts.Fatalf("the last command printed no apply hint")
				}
				line, _, _ = strings.Cut(line, "\n")
				words := shellWords(ts, line)
				if len(words) < 2 || words[0] != "entrasync" {
					ts.Fatalf("hint %q is not an entrasync command", line)
				}
				ts.Logf("pasting: %s", line)
				cmd := exec.Command("entrasync", words[1:]...)
				cmd.Dir = ts.Getenv("WORK")
				cmd.Env = append(os.Environ(), "ENTRASYNC_GRAPH_URL="+ts.Getenv("ENTRASYNC_GRAPH_URL"), "NO_COLOR=1", "HOME="+ts.Getenv("HOME"))
				cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
				if err := cmd.Run(); (err == nil) == neg {
					ts.Fatalf("pasted hint: %v", err)
				}
			},
			"sim-reset-log": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Value(simKey{}).(*graphsim.Sim).ResetLog()
			},
			"replace": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: replace FILE OLD NEW")
				}
				p := ts.MkAbs(args[0])
				b, err := os.ReadFile(p)
				ts.Check(err)
				if !strings.Contains(string(b), args[1]) {
					ts.Fatalf("%s does not contain %q", args[0], args[1])
				}
				ts.Check(os.WriteFile(p, []byte(strings.ReplaceAll(string(b), args[1], args[2])), 0o644))
			},
			"sim-writes": func(ts *testscript.TestScript, neg bool, args []string) {
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				if got := writes(ts.Value(simKey{}).(*graphsim.Sim).Log()); (got == want) == neg {
					ts.Fatalf("%d write requests, want %d", got, want)
				}
			},
		},
	})
}

// shellWords splits a command line as a POSIX shell would, for the quoting
// the CLI's hints use: words separated by spaces, single-quoted parts taken
// literally.
func shellWords(ts *testscript.TestScript, line string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			w.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		ts.Fatalf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
