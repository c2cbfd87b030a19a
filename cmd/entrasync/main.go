// Command entrasync manages part of a Microsoft Entra ID tenant as code:
// validate a spec, plan the changes against the live tenant, apply them.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
