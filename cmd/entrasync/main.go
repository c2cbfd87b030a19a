// Command entrasync manages part of a Microsoft Entra ID tenant as code:
// validate a spec, plan the changes against the live tenant, apply them.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

func main() {
	os.Exit(profiled(os.Args[1:]))
}

// profiled is the process's run, profiled when the environment asks for
// it; the tests' entrasync command (TestMain) is the same.
func profiled(args []string) int {
	stop := profile(os.Getenv("ENTRASYNC_CPUPROFILE"), os.Getenv("ENTRASYNC_MEMPROFILE"))
	defer stop()
	return run(args, os.Stdin, os.Stdout, os.Stderr)
}

// profile writes Go's CPU profile of the run to cpuPath and a heap profile
// at its end to memPath, when they are set: the benchmarks use it to show
// where a plan's time and memory go (go tool pprof). Neither is a flag a
// user needs, so they are environment variables and not in --help.
func profile(cpuPath, memPath string) (stop func()) {
	var cpu *os.File
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "ENTRASYNC_CPUPROFILE: %v\n", err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if memPath == "" {
			return
		}
		// No runtime.GC first: the heap profile's in-use figures are
		// those of the last collection, taken while the run still held
		// its data (near its peak), and its alloc figures are the run's.
		f, err := os.Create(memPath)
		if err == nil {
			err = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "ENTRASYNC_MEMPROFILE: %v\n", err)
		}
	}
}
