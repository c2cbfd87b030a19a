package graphsim

import (
	"encoding/json"
	"io"
)

// Save writes the whole tenant state as JSON in fixture format plus a
// "simState" block (generator state), for the CLI's persistent --sim file.
// Faults, scripted failures, the request log and delta rounds in progress
// are not saved; delta tokens' snapshots are.
func (s *Sim) Save(w io.Writer) error {
	s.mu.Lock()
	f := s.st.toFixture()
	f.State = &SimState{IDState: s.ids.state, ReqState: s.reqs.state, FaultState: s.faultR.state, Seq: s.st.seq, Delta: s.delta.saved()}
	s.mu.Unlock()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// Restore rebuilds a simulator from Save output. opts.Fixture is ignored;
// opts.Seed is only used when the input has no "simState" block (a plain
// fixture); opts.Now is honoured.
func Restore(r io.Reader, opts Options) (*Sim, error) {
	f, err := LoadFixture(r)
	if err != nil {
		return nil, err
	}
	return newSim(opts, f, f.State)
}
