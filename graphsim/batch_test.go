package graphsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

type batchItem = map[string]any

func batchResponses(t *testing.T, r *result) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, v := range r.obj["responses"].([]any) {
		m := v.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

func TestBatchSemantics(t *testing.T) {
	h := newHarness(t, nil)
	// Shape of examples/batch.request.json, with urls this simulator serves.
	var ex struct {
		Requests []batchItem `json:"requests"`
	}
	if err := json.Unmarshal(readExample(t, "batch.request.json"), &ex); err != nil {
		t.Fatal(err)
	}
	ex.Requests[0]["url"] = "/users/" + demoAlice
	ex.Requests[1]["url"] = "/groups/" + demoFinance + "/members"
	ex.Requests[2]["url"] = "/groups/" + demoOldProj
	ex.Requests[3]["url"] = "/groups/" + demoMarketing + "/members/$ref"
	ex.Requests[3]["body"] = map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + demoErin}
	ex.Requests[4]["url"] = "users?$select=id,displayName,userPrincipalName&$filter=userType eq 'Member'&$count=true"
	r := h.do("POST", "/v1.0/$batch", map[string]any{"requests": ex.Requests}).mustStatus(t, 200)
	got := batchResponses(t, r)
	want := map[string]float64{"1": 200, "2": 200, "3": 204, "4": 204, "5": 200}
	for id, st := range want {
		if got[id]["status"] != st {
			t.Fatalf("sub %s status = %v (%v)", id, got[id]["status"], got[id])
		}
	}
	exResp := exampleObject(t, "batch.response.json")["responses"].([]any)[0].(map[string]any)
	sameKeys(t, "batch item", exResp, got["1"])
	if got["5"]["body"].(map[string]any)["@odata.count"] != float64(11) {
		t.Fatalf("advanced query inside batch: %v", got["5"]["body"])
	}
	hdrs := got["1"]["headers"].(map[string]any)
	if hdrs["x-ms-resource-unit"] != "1" || !strings.HasPrefix(hdrs["Content-Type"].(string), "application/json") {
		t.Fatalf("sub headers = %v", hdrs)
	}
	if _, ok := got["3"]["body"]; ok {
		t.Fatalf("204 with body")
	}
	raw, _ := json.Marshal(got["1"]["body"])
	validate(t, "microsoft.graph.user", raw)
	// Writes really happened.
	h.do("GET", "/v1.0/groups/"+demoOldProj, nil).mustStatus(t, 404)

	// Log: the $batch entry followed by its sub-requests in order.
	log := h.sim.Log()
	var batchIdx = -1
	for i, e := range log {
		if e.Path == "/v1.0/$batch" {
			batchIdx = i
		}
	}
	subs := log[batchIdx+1 : batchIdx+6]
	if len(subs) != 5 || !subs[0].InBatch || subs[0].Batch != batchIdx || subs[3].Path != "/v1.0/groups/"+demoMarketing+"/members/$ref" || !subs[3].Write || subs[3].BatchID != "4" || subs[2].Status != 204 {
		t.Fatalf("batch log = %+v", subs)
	}
}

func TestBatchValidationAndDependsOn(t *testing.T) {
	h := newHarness(t, nil)
	get := func(id string) batchItem { return batchItem{"id": id, "method": "GET", "url": "/users/" + demoAlice} }
	var many []batchItem
	for i := range 21 {
		many = append(many, get(fmt.Sprint(i)))
	}
	h.do("POST", "/v1.0/$batch", map[string]any{"requests": many}).mustStatus(t, 400)
	h.do("POST", "/v1.0/$batch", map[string]any{"requests": many[:20]}).mustStatus(t, 200)
	h.do("POST", "/v1.0/$batch", map[string]any{"requests": []batchItem{get("a"), get("A")}}).mustStatus(t, 400)
	h.do("POST", "/v1.0/$batch", map[string]any{"requests": []batchItem{{"id": "1", "method": "PATCH", "url": "/groups/" + demoFinance, "body": map[string]any{"description": "x"}}}}).mustStatus(t, 400)
	h.do("POST", "/v1.0/$batch", map[string]any{"requests": []batchItem{{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}}}).mustStatus(t, 400)
	h.do("POST", "/v1.0/$batch", map[string]any{"requests": []batchItem{{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"9"}}}}).mustStatus(t, 400)
	h.do("POST", "/v1.0/$batch", "{bad").mustStatus(t, 400)

	// dependsOn (examples/batch-dependsOn.request.json order: 1 ← 2 ← 4 ← 3)
	// with request 2 failing: 4 and 3 get 424.
	var ex struct {
		Requests []batchItem `json:"requests"`
	}
	_ = json.Unmarshal(readExample(t, "batch-dependsOn.request.json"), &ex)
	ex.Requests[0]["url"] = "/groups/" + demoFinance
	ex.Requests[1]["url"] = "/groups/11111111-2222-4333-8444-555555555555"
	ex.Requests[2]["url"] = "/users/" + demoAlice
	ex.Requests[3]["url"] = "/users/" + demoBob
	r := h.do("POST", "/v1.0/$batch", map[string]any{"requests": ex.Requests}).mustStatus(t, 200)
	got := batchResponses(t, r)
	for id, st := range map[string]float64{"1": 200, "2": 404, "4": 424, "3": 424} {
		if got[id]["status"] != st {
			t.Fatalf("sub %s = %v", id, got[id]["status"])
		}
	}
	// Order of execution follows dependsOn: 3 depends on 4 although listed after it.
	ex.Requests[1]["url"] = "/groups/" + demoMarketing
	h.sim.ResetLog()
	r = h.do("POST", "/v1.0/$batch", map[string]any{"requests": ex.Requests}).mustStatus(t, 200)
	var order []string
	for _, e := range h.sim.Log()[1:] {
		order = append(order, e.BatchID)
	}
	if strings.Join(order, ",") != "1,2,4,3" {
		t.Fatalf("execution order %v", order)
	}
}

func TestBatchThrottledSubRequests(t *testing.T) {
	h := newHarness(t, nil)
	// 5 RU per 1 s window (scaled down from 10 s): refill 5 RU/s.
	h.sim.SetFaults(Faults{ThrottleRU: 5, ThrottleWindow: time.Second})
	var reqs []batchItem
	for i := range 4 {
		reqs = append(reqs, batchItem{"id": fmt.Sprint(i + 1), "method": "GET", "url": "/groups/" + demoFinance + "/members"}) // 3 RU each
	}
	r := h.do("POST", "/v1.0/$batch", map[string]any{"requests": reqs}).mustStatus(t, 200)
	got := batchResponses(t, r)
	if got["1"]["status"] != float64(200) || got["2"]["status"] != float64(429) || got["3"]["status"] != float64(429) {
		t.Fatalf("statuses: %v %v %v", got["1"]["status"], got["2"]["status"], got["3"]["status"])
	}
	hdr := got["2"]["headers"].(map[string]any)
	if hdr["Retry-After"] != "0.2" || hdr["x-ms-throttle-information"] != "ResourceUnitLimitExceeded" {
		t.Fatalf("429 sub headers: %v", hdr)
	}
	raw, _ := json.Marshal(got["2"]["body"])
	validate(t, "microsoft.graph.ODataErrors.ODataError", raw)
	if n := len(h.sim.Log()); n != 5 {
		t.Fatalf("log entries = %d", n)
	}
	if !h.sim.Log()[2].Throttled {
		t.Fatalf("sub-request not marked throttled")
	}
}

// A light log keeps every entry, with its status and cost, but no bodies:
// a simulator that serves for long keeps no answers.
func TestLightLogKeepsNoBodies(t *testing.T) {
	for _, light := range []bool{false, true} {
		sim := New(Options{Fixture: DemoFixture(), Seed: 42, LightLog: light})
		h := newHarness(t, nil)
		base, stop, err := sim.Start()
		if err != nil {
			t.Fatal(err)
		}
		h.sim, h.base = sim, base
		h.do("GET", "/v1.0/groups/"+demoFinance+"/members", nil).mustStatus(t, 200)
		h.do("POST", "/v1.0/$batch", map[string]any{"requests": []batchItem{
			{"id": "1", "method": "GET", "url": "/users/" + demoAlice},
			{"id": "2", "method": "PATCH", "url": "/groups/" + demoFinance, "body": map[string]any{"description": "x"}, "headers": map[string]any{"Content-Type": "application/json"}},
		}}).mustStatus(t, 200)
		stop()
		log := sim.Log()
		if len(log) != 4 {
			t.Fatalf("light=%v: %d log entries, want 4", light, len(log))
		}
		for _, e := range log {
			if e.Status == 0 || (e.InBatch && e.RU == 0) {
				t.Errorf("light=%v: %s %s lost its status or cost: %+v", light, e.Method, e.Path, e)
			}
			if kept := len(e.Body) > 0 || len(e.ResponseBody) > 0; kept == light {
				t.Errorf("light=%v: %s %s kept bodies: %v", light, e.Method, e.Path, kept)
			}
		}
	}
}
