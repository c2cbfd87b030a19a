package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entrasync/entrasync/model"
)

// benchMembers is the size of the group the member-page benchmarks read.
const benchMembers = 100_000

// memberPage is one page of a group's member list as Graph answers it,
// members [from, to), with a nextLink to the next page when there is one.
func memberPage(base string, from, to, total int) []byte {
	var b strings.Builder
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id,displayName,userPrincipalName,mail)","value":[`)
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"@odata.type":"#microsoft.graph.user","id":"%08x-0000-4000-8000-%012x","displayName":"User %d","userPrincipalName":"user%06d@contoso.com","mail":"user%06d@contoso.com"}`, i, i, i, i, i)
	}
	b.WriteString(`]`)
	if to < total {
		fmt.Fprintf(&b, `,"@odata.nextLink":"%s/v1.0/groups/g1/members?$select=%s&$top=%d&$skiptoken=%d"`, base, memberSelect, maxPage, to)
	}
	b.WriteString(`}`)
	return []byte(b.String())
}

// memberServer answers a group's member list of total members in pages of
// maxPage, in $batch calls (where the client sends the first page and,
// through its coalescer, the later ones) and by nextLink. The pages are
// built once, so the server's own cost per request is small.
func memberServer(b *testing.B, total int) *Client {
	b.Helper()
	var pages [][]byte
	page := func(u string) ([]byte, bool) {
		q, err := url.Parse(u)
		if err != nil {
			return nil, false
		}
		n := 0
		if tok := q.Query().Get("$skiptoken"); tok != "" {
			if n, err = strconv.Atoi(tok); err != nil || n%maxPage != 0 {
				return nil, false
			}
		}
		if n/maxPage >= len(pages) {
			return nil, false
		}
		return pages[n/maxPage], true
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			var req struct {
				Requests []struct{ ID, URL string }
			}
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, `{"error":{"code":"BadRequest","message":"bad $batch"}}`, http.StatusBadRequest)
				return
			}
			var out []map[string]any
			for _, it := range req.Requests {
				if body, ok := page(it.URL); ok {
					out = append(out, map[string]any{"id": it.ID, "status": 200, "headers": map[string]string{"Content-Type": "application/json"}, "body": json.RawMessage(body)})
				} else {
					out = append(out, map[string]any{"id": it.ID, "status": 400, "body": json.RawMessage(`{"error":{"code":"BadRequest","message":"bad skiptoken"}}`)})
				}
			}
			json.NewEncoder(w).Encode(map[string]any{"responses": out})
			return
		}
		body, ok := page(r.URL.String())
		if !ok {
			http.Error(w, `{"error":{"code":"BadRequest","message":"bad skiptoken"}}`, http.StatusBadRequest)
			return
		}
		w.Write(body)
	})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	for from := 0; from < total; from += maxPage {
		pages = append(pages, memberPage(srv.URL, from, min(from+maxPage, total), total))
	}
	c, err := New(Options{BaseURL: srv.URL, MinWait: time.Millisecond, MaxWait: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkReadMembers reads the members of a 100,000-member group through
// the reader's own path (reader.members: the first page in a $batch, 100
// more pages by nextLink, over HTTP to a server answering from memory) and
// reports the client's cost per membership. The server runs in the same
// process; its share is small (a prepared answer per request).
//
//	go test ./graph -run '^$' -bench ReadMembers -benchmem
func BenchmarkReadMembers(b *testing.B) {
	c := memberServer(b, benchMembers)
	ctx := context.Background()
	b.ReportAllocs()
	m := startPerMembership()
	for b.Loop() {
		r := newReader(c, &model.Tenant{}, nil)
		g := &model.Group{ID: "g1", DisplayName: "Everyone"}
		r.obs.Groups = []*model.Group{g}
		managed := map[string]*model.Group{"g1": {DisplayName: "Everyone", Members: &model.MemberSet{Mode: model.Authoritative}}}
		if err := r.members(ctx, managed, nil); err != nil {
			b.Fatal(err)
		}
		if g.Members == nil || len(g.Members.Members) != benchMembers || len(r.obs.Principals) != benchMembers {
			b.Fatalf("read %v members, %d principals", g.Members, len(r.obs.Principals))
		}
	}
	m.report(b, benchMembers)
}

// BenchmarkDecodeMemberPages decodes the pages of a 100,000-member list
// (without nextLinks, so no HTTP) through addMembers, the reader's decoding
// path, into one reader, and reports the cost per membership.
//
//	go test ./graph -run '^$' -bench DecodeMemberPages -benchmem
func BenchmarkDecodeMemberPages(b *testing.B) {
	var pages [][]byte
	for from := 0; from < benchMembers; from += maxPage {
		to := min(from+maxPage, benchMembers)
		pages = append(pages, memberPage("", from, to, to))
	}
	ctx := context.Background()
	b.ReportAllocs()
	m := startPerMembership()
	for b.Loop() {
		r := newReader(nil, &model.Tenant{}, nil)
		n := 0
		for _, p := range pages {
			g := &model.Group{}
			if err := r.addMembers(ctx, g, 0, p); err != nil {
				b.Fatal(err)
			}
			n += len(g.Members.Members)
		}
		if n != benchMembers || len(r.obs.Principals) != benchMembers {
			b.Fatalf("decoded %d members, %d principals", n, len(r.obs.Principals))
		}
	}
	m.report(b, benchMembers)
}

// perMembership measures a benchmark's loop for reportPerMembership.
type perMembership struct{ alloc uint64 }

func startPerMembership() perMembership {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return perMembership{alloc: ms.TotalAlloc}
}

// report reports ns and bytes allocated per membership, n memberships an
// op, since start (the whole process's allocations: with HTTP, the test
// server's too).
func (m perMembership) report(b *testing.B, n int) {
	b.Helper()
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	per := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/membership")
	b.ReportMetric(float64(ms.TotalAlloc-m.alloc)/per, "B/membership")
}

// TestDecodePageAsTheDecoderDid holds decodePage and decodeObjectPage to
// what json.Decoder.Decode made of a page: the same values (nil-ness aside
// for decodeObjectPage) and the same errors.
func TestDecodePageAsTheDecoderDid(t *testing.T) {
	bodies := []string{
		``, ` `, `null`, `{}`, `{"value":null}`, `{"value":[]}`, "{\"value\":[]}\n", `{"value":[]} trailing`,
		`{"value":[]}{"value":[{"id":"x"}]}`, `{"value":[{"id":"A","ID":"b","displayName":null}]}`,
		`{"value":[{"id":5}]}`, `{"value":[{"id":"a"},{"id":7},{"id":"c"}]}`, `{"value":{}}`, `{"value":[`, `[1]`,
		`{"value":[{"@odata.type":"#microsoft.graph.servicePrincipal","id":"a\u00e9\ud800","appId":"X","extra":{"{":[{}]}}],"@odata.nextLink":""}`,
		`{"value":[{"id":"a"}],"@odata.nextLink":5}`, `{"VALUE":[{"Id":"a"}],"@ODATA.NEXTLINK":"n"}`,
		string(memberPage("http://x", 0, 3, 10)),
	}
	for _, body := range bodies {
		var want page[objectJSON]
		wantErr := json.NewDecoder(strings.NewReader(body)).Decode(&want)
		for name, decode := range map[string]func([]byte) (page[objectJSON], error){"decodePage": decodePage[objectJSON], "decodeObjectPage": decodeObjectPage} {
			got, err := decode([]byte(body))
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("%s(%q): error %v, the decoder's %v", name, body, err, wantErr)
			}
			if name == "decodeObjectPage" && len(got.Value) == 0 && len(want.Value) == 0 {
				got.Value = want.Value
			}
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
				t.Errorf("%s(%q) = %#v, the decoder's %#v", name, body, got, want)
			}
		}
	}
}
