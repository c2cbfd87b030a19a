package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// JSON $batch (README §8): at most 20 requests, unique case-insensitive
// ids, relative urls, a body needs a Content-Type header, dependsOn chains
// with 424 for failed prerequisites. The outer response is 200 whenever the
// batch parses; responses are returned in request order. Each sub-request
// goes through the same pipeline as a top-level request (scripted faults,
// 429 storm, RU/write buckets, 5xx), so throttled sub-requests come back
// as status 429 with Retry-After in their own headers.

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

const maxBatch = 20

func (s *Sim) serveBatch(outer *reqCtx, logIdx int) *response {
	if !strings.Contains(strings.ToLower(outer.header.Get("Content-Type")), "application/json") {
		return outer.errResp(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	var payload struct {
		Requests []batchRequest `json:"requests"`
	}
	dec := json.NewDecoder(bytes.NewReader(outer.body))
	if err := dec.Decode(&payload); err != nil {
		return outer.errResp(400, "BadRequest", "Invalid batch payload format.")
	}
	reqs := payload.Requests
	if len(reqs) == 0 {
		return outer.errResp(400, "BadRequest", "Invalid batch payload format: the 'requests' array is empty.")
	}
	if len(reqs) > maxBatch {
		return outer.errResp(400, "BadRequest", fmt.Sprintf("Number of batch requests exceeds the maximum of %d.", maxBatch))
	}
	byID := map[string]int{}
	for i, r := range reqs {
		if r.ID == "" || r.Method == "" || r.URL == "" {
			return outer.errResp(400, "BadRequest", "Invalid batch payload format: each request needs id, method and url.")
		}
		k := strings.ToLower(r.ID)
		if _, dup := byID[k]; dup {
			return outer.errResp(400, "BadRequest", fmt.Sprintf("Batch request with Id '%s' is a duplicate.", r.ID))
		}
		byID[k] = i
		if len(r.Body) > 0 && !bytes.Equal(bytes.TrimSpace(r.Body), []byte("null")) && headerValue(r.Headers, "Content-Type") == "" {
			return outer.errResp(400, "BadRequest", fmt.Sprintf("Content-Type header is required for request Id '%s' with a body.", r.ID))
		}
		if u, err := url.Parse(r.URL); err != nil || u.IsAbs() || u.Host != "" {
			return outer.errResp(400, "BadRequest", fmt.Sprintf("Invalid request URL '%s' for request Id '%s': urls must be relative.", r.URL, r.ID))
		}
	}
	for _, r := range reqs {
		for _, d := range r.DependsOn {
			if _, ok := byID[strings.ToLower(d)]; !ok || strings.EqualFold(d, r.ID) {
				return outer.errResp(400, "BadRequest", fmt.Sprintf("Request Id '%s' depends on unknown request Id '%s'.", r.ID, d))
			}
		}
	}
	// Execution order: repeatedly run, in array order, the requests whose
	// prerequisites are done. A cycle is a malformed batch.
	order := make([]int, 0, len(reqs))
	done := make([]bool, len(reqs))
	for len(order) < len(reqs) {
		progressed := false
		for i, r := range reqs {
			if done[i] {
				continue
			}
			ready := true
			for _, d := range r.DependsOn {
				if !done[byID[strings.ToLower(d)]] {
					ready = false
				}
			}
			if ready {
				done[i] = true
				order = append(order, i)
				progressed = true
			}
		}
		if !progressed {
			return outer.errResp(400, "BadRequest", "Invalid batch payload format: dependsOn forms a cycle.")
		}
	}

	results := make([]*response, len(reqs))
	committed := false
	for _, i := range order {
		r := reqs[i]
		sub := &reqCtx{
			s: s, version: outer.version, method: strings.ToUpper(r.Method), header: http.Header{},
			base: outer.base, now: s.now().UTC(), inBatch: true, clientID: outer.clientID, caller: outer.caller,
		}
		for k, v := range r.Headers {
			sub.header.Set(k, v)
		}
		if v := sub.header.Get("client-request-id"); v != "" {
			sub.clientID = v
		}
		if len(r.Body) > 0 && !bytes.Equal(bytes.TrimSpace(r.Body), []byte("null")) {
			sub.body = r.Body
		}
		path, rawQuery, _ := strings.Cut(r.URL, "?")
		segs, perr := splitPath(path)
		sub.segs, sub.rawQuery = segs, rawQuery

		logPath := "/" + outer.version + "/" + strings.TrimPrefix(path, "/")
		if perr == nil {
			logPath = "/" + outer.version + "/" + strings.Join(segs, "/")
		}
		s.mu.Lock()
		sub.requestID = s.reqs.uuid()
		entry := LogEntry{
			Method: sub.method, Path: logPath, Query: rawQuery,
			Body: s.logged(sub.body), InBatch: true, Batch: logIdx, BatchIndex: i, BatchID: r.ID, Write: isWrite(sub.method),
			RequestID: sub.requestID,
		}
		s.mu.Unlock()

		var resp *response
		failedDep := false
		for _, d := range r.DependsOn {
			if st := results[byID[strings.ToLower(d)]].status; st < 200 || st > 299 {
				failedDep = true
			}
		}
		switch {
		case failedDep:
			resp = sub.errResp(424, "FailedDependency", "The request failed because a request it depends on failed.")
		case perr != nil:
			resp = sub.errResp(400, "BadRequest", "Invalid request URL.")
		case len(segs) == 1 && segs[0] == "$batch":
			resp = sub.errResp(400, "BadRequest", "Nested $batch requests are not supported.")
		default:
			resp = s.handle(sub)
		}
		results[i] = resp
		if resp.committed {
			committed = true
			s.mu.Lock()
			if s.takeRule(sub, true) != nil {
				outer.dropMarked = true
			}
			s.mu.Unlock()
		}
		entry.Status, entry.Throttled, entry.Injected, entry.RU, entry.ResponseBody = resp.status, resp.throttled, resp.injected, sub.ru, s.logged(resp.body)
		s.mu.Lock()
		s.log = append(s.log, entry)
		s.mu.Unlock()
	}

	out := make([]object, len(reqs))
	for i, r := range reqs {
		resp := results[i]
		h := object{}
		resp.header.Set("Cache-Control", "no-cache")
		for _, k := range sortedKeys(resp.header) {
			h = append(h, field{headerSpelling(k), resp.header.Get(k)})
		}
		o := object{{"id", r.ID}, {"status", resp.status}, {"headers", h}}
		if len(resp.body) > 0 {
			if strings.Contains(resp.header.Get("Content-Type"), "json") && json.Valid(resp.body) {
				o = append(o, field{"body", json.RawMessage(resp.body)})
			} else {
				o = append(o, field{"body", string(resp.body)})
			}
		}
		out[i] = o
	}
	res := outer.jsonResp(200, object{{"responses", out}})
	res.header.Set("Content-Type", "application/json")
	res.committed = committed
	return res
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// headerSpelling restores Graph's spelling of header names inside $batch
// bodies (net/http canonicalises x-ms-resource-unit to X-Ms-Resource-Unit).
func headerSpelling(k string) string {
	switch strings.ToLower(k) {
	case "odata-version":
		return "OData-Version"
	case "x-ms-resource-unit", "x-ms-throttle-scope", "x-ms-throttle-information", "x-ms-throttle-limit-percentage", "request-id", "client-request-id":
		return strings.ToLower(k)
	}
	return k
}
