package graphsim

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func newGroupBody(name string) map[string]any {
	return map[string]any{"displayName": name, "mailEnabled": false, "mailNickname": strings.ReplaceAll(name, " ", ""), "securityEnabled": true}
}

func TestThrottleResourceUnitBucket(t *testing.T) {
	h := newHarness(t, nil)
	// 10 RU per 10 s: refill 1 RU/s. GET /users costs 2 RU.
	h.sim.SetFaults(Faults{ThrottleRU: 10, ThrottleWindow: 10 * time.Second})
	for range 5 {
		h.do("GET", "/v1.0/users", nil).mustStatus(t, 200)
	}
	r := h.do("GET", "/v1.0/users", nil).mustStatus(t, 429)
	validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
	want := exampleObject(t, "throttling-429.response.json")["error"].(map[string]any)
	got := r.obj["error"].(map[string]any)
	sameKeys(t, "429 error", want, got)
	sameKeys(t, "429 innerError", want["innerError"].(map[string]any), got["innerError"].(map[string]any), "client-request-id")
	if r.errorCode() != "TooManyRequests" || r.header.Get("Retry-After") != "2" ||
		r.header.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" ||
		!strings.HasPrefix(r.header.Get("x-ms-throttle-scope"), "Tenant_Application/ReadWrite/") {
		t.Fatalf("429 = %v %s", r.header, r.raw)
	}
	// A cheaper request still does not fit (0 tokens).
	h.do("GET", "/v1.0/users/"+demoAlice, nil).mustStatus(t, 429)
	h.clock.Advance(2 * time.Second)
	h.do("GET", "/v1.0/users", nil).mustStatus(t, 200)
	h.do("GET", "/v1.0/users/"+demoAlice, nil).mustStatus(t, 429)

	// Fractional Retry-After with a scaled-down window: 4 RU per 1 s.
	h.sim.SetFaults(Faults{ThrottleRU: 4, ThrottleWindow: time.Second})
	h.do("GET", "/v1.0/users", nil).mustStatus(t, 200)
	h.do("GET", "/v1.0/users", nil).mustStatus(t, 200)
	r = h.do("GET", "/v1.0/users", nil).mustStatus(t, 429)
	if ra := r.header.Get("Retry-After"); ra != "0.5" {
		t.Fatalf("Retry-After = %q, want 0.5", ra)
	}
	h.clock.Advance(500 * time.Millisecond)
	h.do("GET", "/v1.0/users", nil).mustStatus(t, 200)

	// Write quota: 2 writes per 150 s; reads are unaffected.
	h.sim.SetFaults(Faults{WriteQuota: 2})
	h.do("PATCH", "/v1.0/groups/"+demoFinance, map[string]any{"description": "1"}).mustStatus(t, 204)
	h.do("PATCH", "/v1.0/groups/"+demoFinance, map[string]any{"description": "2"}).mustStatus(t, 204)
	w := h.do("PATCH", "/v1.0/groups/"+demoFinance, map[string]any{"description": "3"}).mustStatus(t, 429)
	if w.header.Get("x-ms-throttle-information") != "WriteLimitExceeded" || w.header.Get("Retry-After") != "75" {
		t.Fatalf("write 429 headers = %v", w.header)
	}
	if g := h.do("GET", "/v1.0/groups/"+demoFinance+"?$select=description", nil).mustStatus(t, 200); g.obj["description"] != "2" {
		t.Fatalf("throttled write committed: %v", g.obj)
	}
	h.sim.SetFaults(Faults{})
	h.do("PATCH", "/v1.0/groups/"+demoFinance, map[string]any{"description": "3"}).mustStatus(t, 204)
	var throttled int
	for _, e := range h.sim.Log() {
		if e.Throttled {
			throttled++
		}
	}
	if throttled != 5 {
		t.Fatalf("throttled log entries = %d", throttled)
	}
}

func TestStormAndServerErrors(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.SetFaults(Faults{StormRate: 1, StormRetryAfter: 250 * time.Millisecond})
	r := h.do("POST", "/v1.0/groups", newGroupBody("Storm")).mustStatus(t, 429)
	if r.header.Get("Retry-After") != "0.25" {
		t.Fatalf("storm Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Deterministic with a seed: two simulators throttle the same requests.
	pattern := func() string {
		s := New(Options{Fixture: DemoFixture(), Seed: 7})
		s.SetFaults(Faults{StormRate: 0.5, ServerErrorRate: 0.2})
		base, closeFn, err := s.Start()
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		hh := &harness{t: t, sim: s, base: base, client: h.client}
		var b strings.Builder
		for range 40 {
			fmt.Fprint(&b, hh.do("GET", "/v1.0/users/"+demoAlice, nil).status, " ")
		}
		return b.String()
	}
	p1, p2 := pattern(), pattern()
	if p1 != p2 || !strings.Contains(p1, "429") || !strings.Contains(p1, "200") {
		t.Fatalf("storm not deterministic or degenerate:\n%s\n%s", p1, p2)
	}

	h.sim.SetFaults(Faults{ServerErrorRate: 1})
	seen := map[int]bool{}
	retryAfter := false
	for i := range 30 {
		r := h.do("POST", "/v1.0/groups", newGroupBody(fmt.Sprintf("Err%d", i)))
		seen[r.status] = true
		validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
		if r.status == 503 && r.header.Get("Retry-After") != "" {
			retryAfter = true
		}
		want := map[int]string{500: "generalException", 503: "serviceNotAvailable", 504: "gatewayTimeout"}[r.status]
		if want == "" || r.errorCode() != want {
			t.Fatalf("5xx = %d %s", r.status, r.raw)
		}
	}
	if len(seen) != 3 || !retryAfter {
		t.Fatalf("5xx variety = %v, 503 Retry-After seen = %v", seen, retryAfter)
	}
	h.sim.SetFaults(Faults{})
	c := h.do("GET", "/v1.0/groups/$count", nil, "ConsistencyLevel: eventual").mustStatus(t, 200)
	if string(c.raw) != "5" {
		t.Fatalf("5xx committed writes: %s groups", c.raw)
	}
}

func TestDroppedResponses(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.SetFaults(Faults{DropResponseRate: 1})
	// Reads are never dropped.
	h.do("GET", "/v1.0/users/"+demoAlice, nil).mustStatus(t, 200)
	r := h.do("POST", "/v1.0/groups", newGroupBody("Dropped"))
	if r.err == nil {
		t.Fatalf("expected a transport error, got %d", r.status)
	}
	// Failed writes are not dropped either.
	h.do("POST", "/v1.0/groups", map[string]any{"displayName": "x"}).mustStatus(t, 400)
	h.sim.SetFaults(Faults{})
	g := h.do("GET", "/v1.0/groups?$filter=displayName eq 'Dropped'", nil).mustStatus(t, 200)
	if len(g.values()) != 1 {
		t.Fatalf("dropped write not committed: %s", g.raw)
	}
	log := h.sim.Log()
	if e := log[1]; !e.Dropped || e.Status != 201 || e.Method != "POST" || !e.Write {
		t.Fatalf("log entry = %+v", e)
	}

	// Scripted: DropNext on a member add, also inside a $batch.
	h.sim.DropNext("POST", "/groups/*/members/$ref", 1)
	r = h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice})
	if r.err == nil {
		t.Fatalf("DropNext: got %d", r.status)
	}
	h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice}).mustStatus(t, 400) // committed
	h.sim.DropNext("DELETE", "/groups/*/members/*/$ref", 1)
	r = h.do("POST", "/v1.0/$batch", map[string]any{"requests": []map[string]any{{"id": "1", "method": "DELETE", "url": "/groups/" + demoFinance + "/members/" + demoAlice + "/$ref"}}})
	if r.err == nil {
		t.Fatalf("batch drop: got %d", r.status)
	}
	// The log says so for the $batch and for the sub-request whose answer
	// went with it.
	log = h.sim.Log()
	var outer, inner *LogEntry
	for i := range log {
		if e := &log[i]; e.Path == "/v1.0/$batch" {
			outer = e
		} else if e.InBatch && e.Method == "DELETE" {
			inner = e
		}
	}
	if outer == nil || inner == nil || !outer.Dropped || !inner.Dropped || inner.ResponseBody != nil {
		t.Fatalf("dropped $batch logged as %+v, its sub-request as %+v", outer, inner)
	}
	h.do("DELETE", "/v1.0/groups/"+demoFinance+"/members/"+demoAlice+"/$ref", nil).mustStatus(t, 404)
}

func TestReplicationLag(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.SetFaults(Faults{ReplicationLag: 5 * time.Second})
	r := h.do("POST", "/v1.0/groups", newGroupBody("Fresh")).mustStatus(t, 201)
	id := r.obj["id"].(string)
	// Reads: 404 by id, missing from lists, $filter and getByIds.
	nf := h.do("GET", "/v1.0/groups/"+id, nil).mustStatus(t, 404)
	validate(t, "microsoft.graph.ODataErrors.ODataError", nf.raw)
	if l := h.do("GET", "/v1.0/groups?$filter=displayName eq 'Fresh'", nil).mustStatus(t, 200); len(l.values()) != 0 {
		t.Fatalf("lagging group listed")
	}
	if l := h.do("POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{id}}).mustStatus(t, 200); len(l.values()) != 0 {
		t.Fatalf("lagging group in getByIds")
	}
	h.do("GET", "/v1.0/groups/"+id+"/members", nil).mustStatus(t, 404)
	// Writes addressed by id are authoritative.
	h.do("PATCH", "/v1.0/groups/"+id, map[string]any{"description": "d"}).mustStatus(t, 204)
	h.do("POST", "/v1.0/groups/"+id+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice}).mustStatus(t, 204)
	h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + id}).mustStatus(t, 204)
	// New membership in an old group is also hidden for the lag.
	h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoErin}).mustStatus(t, 204)
	if m := h.do("GET", "/v1.0/groups/"+demoFinance+"/members?$select=id", nil).mustStatus(t, 200); len(m.ids()) != 3 {
		t.Fatalf("lagging membership visible: %v", m.ids())
	}
	h.clock.Advance(5 * time.Second)
	g := h.do("GET", "/v1.0/groups/"+id, nil).mustStatus(t, 200)
	if g.obj["description"] != "d" {
		t.Fatalf("after lag: %v", g.obj)
	}
	if m := h.do("GET", "/v1.0/groups/"+demoFinance+"/members?$select=id", nil).mustStatus(t, 200); len(m.ids()) != 5 {
		t.Fatalf("after lag members: %v", m.ids())
	}
	if m := h.do("GET", "/v1.0/groups/"+id+"/members?$select=id", nil).mustStatus(t, 200); len(m.ids()) != 1 {
		t.Fatalf("after lag new group's members: %v", m.ids())
	}
}

func TestFailNextAndLatency(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.FailNext("POST", "/groups/*/members/$ref", 503, 2)
	body := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice}
	for range 2 {
		r := h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", body).mustStatus(t, 503)
		validate(t, "microsoft.graph.ODataErrors.ODataError", r.raw)
		if r.errorCode() != "serviceNotAvailable" || r.header.Get("Retry-After") != "0.1" {
			t.Fatalf("scripted 503: %v %s", r.header, r.raw)
		}
	}
	// Other paths and methods are unaffected; the third matching call succeeds.
	h.sim.FailNext("POST", "/groups/*/members/$ref", 503, 1)
	h.do("POST", "/v1.0/groups/"+demoFinance+"/owners/$ref", body).mustStatus(t, 204)
	h.do("GET", "/v1.0/groups/"+demoFinance+"/members", nil).mustStatus(t, 200)
	h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", body).mustStatus(t, 503)
	h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", body).mustStatus(t, 204)
	// Prefix form with version, any method.
	h.sim.FailNext("", "/v1.0/groups", 500, 1)
	h.do("GET", "/v1.0/groups/"+demoFinance, nil).mustStatus(t, 500)
	h.do("GET", "/v1.0/groups/"+demoFinance, nil).mustStatus(t, 200)
	h.sim.FailNext("GET", "/users", 429, 1)
	if r := h.do("GET", "/beta/users", nil).mustStatus(t, 429); r.header.Get("Retry-After") != "0.1" {
		t.Fatalf("scripted 429 headers: %v", r.header)
	}
	e := h.sim.Log()[len(h.sim.Log())-1]
	if !e.Injected || !e.Throttled || e.Status != 429 {
		t.Fatalf("log = %+v", e)
	}

	h.sim.SetFaults(Faults{Latency: 60 * time.Millisecond})
	start := time.Now()
	h.do("GET", "/v1.0/users/"+demoAlice, nil).mustStatus(t, 200)
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Fatalf("latency not applied: %v", el)
	}
}

func TestSaveRestoreRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	h.do("POST", "/v1.0/groups", newGroupBody("Persisted")).mustStatus(t, 201)
	h.do("PATCH", "/v1.0/groups/"+demoSecGroup1+"/onPremisesSyncBehavior", map[string]any{"isCloudManaged": true}).mustStatus(t, 200)
	h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice}).mustStatus(t, 204)
	h.do("DELETE", "/v1.0/groups/"+demoOldProj, nil).mustStatus(t, 204)
	var buf bytes.Buffer
	if err := h.sim.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.String()
	if _, err := LoadFixture(strings.NewReader(saved)); err != nil {
		t.Fatalf("saved state is not a valid fixture: %v", err)
	}
	restored, err := Restore(strings.NewReader(saved), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	base, closeFn, err := restored.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	h2 := &harness{t: t, sim: restored, base: base, client: h.client, clock: h.clock}
	for _, p := range []string{
		"/v1.0/groups?$select=id,displayName,onPremisesSyncEnabled,uniqueName",
		"/v1.0/groups/" + demoFinance + "/members?$select=id",
		"/v1.0/groups/" + demoSecGroup1 + "/onPremisesSyncBehavior",
		"/v1.0/users?$select=id,userPrincipalName,createdDateTime",
		"/v1.0/groups?$filter=displayName eq 'Persisted'",
	} {
		a := h.do("GET", p, nil).mustStatus(t, 200)
		b := h2.do("GET", p, nil).mustStatus(t, 200)
		as := strings.ReplaceAll(string(a.raw), h.base, "")
		bs := strings.ReplaceAll(string(b.raw), h2.base, "")
		if as != bs {
			t.Fatalf("%s differs after restore:\n%s\n%s", p, as, bs)
		}
	}
	// Converted group stays writable; generator state continues identically.
	h2.do("PATCH", "/v1.0/groups/"+demoSecGroup1, map[string]any{"description": "x"}).mustStatus(t, 204)
	a := h.do("POST", "/v1.0/groups", newGroupBody("Next")).mustStatus(t, 201)
	b := h2.do("POST", "/v1.0/groups", newGroupBody("Next")).mustStatus(t, 201)
	if a.obj["id"] != b.obj["id"] {
		t.Fatalf("id after restore %v != %v", b.obj["id"], a.obj["id"])
	}
	var again bytes.Buffer
	_ = restored.Save(&again)
	if _, err := Restore(&again, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestRequestLog(t *testing.T) {
	h := newHarness(t, nil)
	h.do("GET", "/v1.0/groups?$select=id", nil)
	h.do("POST", "/v1.0/groups/"+demoFinance+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoAlice})
	h.do("DELETE", "/v1.0/groups/"+demoFinance+"/members/"+demoAlice+"/$ref", nil)
	type row struct {
		Method, Path, Query string
		Status              int
		Write               bool
	}
	var got []row
	for _, e := range h.sim.Log() {
		got = append(got, row{e.Method, e.Path, e.Query, e.Status, e.Write})
	}
	want := []row{
		{"GET", "/v1.0/groups", "$select=id", 200, false},
		{"POST", "/v1.0/groups/" + demoFinance + "/members/$ref", "", 204, true},
		{"DELETE", "/v1.0/groups/" + demoFinance + "/members/" + demoAlice + "/$ref", "", 204, true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("log:\n%v\nwant\n%v", got, want)
	}
	if !bytes.Contains(h.sim.Log()[1].Body, []byte(demoAlice)) {
		t.Fatalf("body not logged")
	}
	h.sim.ResetLog()
	if len(h.sim.Log()) != 0 {
		t.Fatal("ResetLog")
	}
}

func TestConcurrentUse(t *testing.T) {
	f, gid := bigFixture(200)
	h := newHarness(t, f)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				id := fmt.Sprintf("%08x-1111-4000-8000-%012x", i, i)
				switch (w + i) % 4 {
				case 0:
					h.do("DELETE", "/v1.0/groups/"+gid+"/members/"+id+"/$ref", nil)
				case 1:
					h.do("POST", "/v1.0/groups/"+gid+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id})
				case 2:
					h.do("GET", "/v1.0/groups/"+gid+"/members?$top=50", nil)
				default:
					h.sim.SetFaults(Faults{StormRate: 0.1, ThrottleRU: 1000})
				}
			}
		}()
	}
	wg.Wait()
	if n := len(h.sim.Log()); n < 120 {
		t.Fatalf("log has %d entries", n)
	}
}
