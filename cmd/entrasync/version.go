package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at release time with -ldflags "-X main.buildVersion=v1.2.3 -X
// main.buildCommit=… -X main.buildDate=…" (.goreleaser.yaml does). Left
// empty, they are read from the module and VCS information the go command
// records in every binary.
var (
	buildVersion string
	buildCommit  string
	buildDate    string
)

// buildInfo is what a binary knows about its own build.
type buildInfo struct {
	Version  string // a tag or module version (v1.2.3), or "dev"
	Commit   string // VCS revision, "+dirty" when built from a modified tree
	Date     string // commit or build time, RFC 3339
	Go       string
	Platform string
}

// readBuildInfo combines the release-time stamps with what
// runtime/debug.ReadBuildInfo holds: Main.Version for `go install
// module@version`, vcs.revision, vcs.time and vcs.modified for a build
// inside a git checkout.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: buildVersion, Commit: buildCommit, Date: buildDate, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && b.Commit != "" && buildCommit == "" {
			b.Commit += "+dirty"
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// version is the one string plans record as toolVersion: the version, and
// for a build that is not a release, the commit it came from.
func version() string {
	b := readBuildInfo()
	if b.Version == "dev" && b.Commit != "" {
		return "dev-" + shortCommit(b.Commit)
	}
	return b.Version
}

func shortCommit(c string) string {
	rev, dirty, _ := strings.Cut(c, "+")
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty != "" {
		return rev + "+" + dirty
	}
	return rev
}

func (b buildInfo) String() string {
	commit, date := b.Commit, b.Date
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("entrasync %s\n  commit:   %s\n  built:    %s\n  go:       %s\n  platform: %s\n", b.Version, commit, date, b.Go, b.Platform)
}
