package graphsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Demo fixture ids used across tests.
const (
	demoAlice     = "f6fadfa7-e5c1-4b62-9362-da5cc13da58a"
	demoBob       = "2c63888f-28f0-4481-be6d-dce7a7ace732"
	demoCarol     = "8a119b9e-16bc-4732-8f7b-7676d015b0dc"
	demoErin      = "fab36728-a78b-4b7e-8787-c0de2f960063"
	demoFrank     = "a712755f-6cac-44d5-99d5-269512e74f7b"
	demoIvan      = "0b80a255-53a1-4945-a932-58ef7777682c"
	demoNiaj      = "6c42590f-fcf0-4922-bac6-205f7c6aa89c"
	demoMarketing = "3c3ae353-fb14-428e-90b4-01a6c1cc0aff"
	demoSecGroup1 = "b9c8b9ff-e46e-4627-9419-c7723226db94"
	demoOldProj   = "bbeeb636-1d33-4c6d-96f0-da847a2a3b87"
	demoFinance   = "68e58909-ccb2-4416-925a-56c9a30f4300"
	demoSalesDyn  = "ff53a46f-5ead-403a-84c4-b877678537a3"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t      *testing.T
	sim    *Sim
	base   string
	client *http.Client
	clock  *fakeClock
}

// newHarness serves a simulator over real HTTP (so dropped responses are
// real connection closes) with a fake clock.
func newHarness(t *testing.T, f *Fixture) *harness {
	t.Helper()
	if f == nil {
		f = DemoFixture()
	}
	clock := newClock()
	sim := New(Options{Fixture: f, Seed: 42, Now: clock.Now})
	base, closeFn, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(func() { closeFn(); tr.CloseIdleConnections() })
	return &harness{t: t, sim: sim, base: base, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, clock: clock}
}

type result struct {
	status int
	header http.Header
	raw    []byte
	obj    map[string]any
	err    error
}

// do sends a request; body may be nil, a string (raw JSON) or a value to
// marshal. hdr are "Name: value" pairs.
func (h *harness) do(method, path string, body any, hdr ...string) *result {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		case []byte:
			rd = bytes.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				h.t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	u := strings.ReplaceAll(path, " ", "%20")
	if !strings.HasPrefix(path, "http") {
		u = h.base + u
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return &result{err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &result{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &r.obj); err != nil {
			h.t.Fatalf("%s %s: invalid JSON body %q: %v", method, path, raw, err)
		}
	}
	return r
}

func (r *result) mustStatus(t *testing.T, want int) *result {
	t.Helper()
	if r.err != nil {
		t.Fatalf("request failed: %v", r.err)
	}
	if r.status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.status, want, r.raw)
	}
	return r
}

func (r *result) errorCode() string {
	e, _ := r.obj["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r *result) errorMessage() string {
	e, _ := r.obj["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (r *result) values() []map[string]any {
	arr, _ := r.obj["value"].([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, v := range arr {
		out = append(out, v.(map[string]any))
	}
	return out
}

func (r *result) ids() []string {
	var out []string
	for _, v := range r.values() {
		out = append(out, v["id"].(string))
	}
	return out
}

// --- OpenAPI validation -------------------------------------------------

var (
	schemaOnce sync.Once
	schemaComp *jsonschema.Compiler
	schemaErr  error
	schemaMu   sync.Mutex
	schemaMemo = map[string]*jsonschema.Schema{}
)

const openapiURL = "mem://graph/v1.0.json"

// graphRefPath names a file of the Graph reference data the tests carry
// (testdata/graph at the repository root; SOURCE.md there gives provenance).
func graphRefPath(parts ...string) string {
	return filepath.Join(append([]string{"..", "testdata", "graph"}, parts...)...)
}

// nullableToJSONSchema rewrites OpenAPI 3.0 "nullable: true" into JSON
// Schema type unions so a standard validator can be used.
func nullableToJSONSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = nullableToJSONSchema(e)
		}
		if n, _ := x["nullable"].(bool); n {
			delete(x, "nullable")
			switch t := x["type"].(type) {
			case string:
				x["type"] = []any{t, "null"}
			default:
				if alts, ok := x["anyOf"].([]any); ok {
					x["anyOf"] = append(alts, map[string]any{"type": "null"})
				}
			}
			if enum, ok := x["enum"].([]any); ok {
				x["enum"] = append(enum, nil)
			}
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = nullableToJSONSchema(e)
		}
	}
	return v
}

func schemaFor(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		p := graphRefPath("openapi-subset", "v1.0.json")
		f, err := os.Open(p)
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		doc = nullableToJSONSchema(doc)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource(openapiURL, doc); err != nil {
			schemaErr = err
			return
		}
		schemaComp = c
	})
	if schemaErr != nil {
		t.Fatalf("cannot load the Graph OpenAPI subset at %s: %v", graphRefPath("openapi-subset", "v1.0.json"), schemaErr)
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaMemo[name]; ok {
		return s
	}
	s, err := schemaComp.Compile(openapiURL + "#/components/schemas/" + name)
	if err != nil {
		t.Fatalf("compile schema %s: %v", name, err)
	}
	schemaMemo[name] = s
	return s
}

// validate checks a response body against a named OpenAPI schema.
func validate(t *testing.T, schema string, raw []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, raw)
	}
	if err := schemaFor(t, schema).Validate(inst); err != nil {
		t.Fatalf("body does not match %s: %v\n%s", schema, err, raw)
	}
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	p := graphRefPath("examples", name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("cannot read Graph example %s: %v", p, err)
	}
	return b
}

func exampleObject(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readExample(t, name), &m); err != nil {
		t.Fatalf("example %s: %v", name, err)
	}
	return m
}

// sameKeys asserts that got has exactly the property names of want
// (extra lists allow documented additions).
func sameKeys(t *testing.T, what string, want, got map[string]any, extra ...string) {
	t.Helper()
	allowed := map[string]bool{}
	for _, e := range extra {
		allowed[e] = true
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s: missing property %q", what, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && !allowed[k] {
			t.Errorf("%s: unexpected property %q", what, k)
		}
	}
}
