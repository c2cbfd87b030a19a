package graph

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entrasync/entrasync/model"
)

func TestNextLinkOf(t *testing.T) {
	for body, want := range map[string]string{
		`{"value":[],"@odata.nextLink":"https://graph.microsoft.com/v1.0/groups?$skiptoken=a"}`: "https://graph.microsoft.com/v1.0/groups?$skiptoken=a",
		`{"@odata.nextLink" : "https://x/v1.0/u?$skiptoken=b\u0026$top=5", "value":[]}`:         "https://x/v1.0/u?$skiptoken=b&$top=5",
		`{"value":[{"displayName":"@odata.nextLink"}]}`:                                         "",
		`{"value":[{"displayName":"say \"@odata.nextLink\": here"}]}`:                           "",
		`{"value":[]}`:                   "",
		`{"value":[],"@odata.nextLink":`: "",
	} {
		if got := nextLinkOf([]byte(body)); got != want {
			t.Errorf("nextLinkOf(%s) = %q, want %q", body, got, want)
		}
	}
}

// Five lists of four pages each: their later pages share $batch calls, one
// chain step per call, and every list is read whole and in order.
func TestLaterPagesOfListsShareCalls(t *testing.T) {
	var calls atomic.Int32
	var base string
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := strings.TrimPrefix(r.URL.Path, "/v1.0/lists/")
		n, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		next := ""
		if n < 3 {
			next = fmt.Sprintf(`,"@odata.nextLink":"%s/v1.0/lists/%s?$skiptoken=%d"`, base, list, n+1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"value":[{"id":"%s-%d"}]%s}`, list, n, next)
	})
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			calls.Add(1)
		}
		unbatch(inner).ServeHTTP(w, r)
	}))
	base = c.root
	r := newReader(c, &model.Tenant{}, nil)
	var q reads
	got := make([]string, 5)
	for i := range 5 {
		q.add(fmt.Sprintf("/lists/l%d", i), func(body []byte) error {
			all, err := listAll[struct{ ID string }](context.Background(), c, body, nil)
			for _, o := range all {
				got[i] += o.ID + " "
			}
			return err
		})
	}
	if err := r.run(context.Background(), &q); err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if want := fmt.Sprintf("l%d-0 l%d-1 l%d-2 l%d-3 ", i, i, i, i); g != want {
			t.Errorf("list %d read as %q, want %q", i, g, want)
		}
	}
	// One call for the first pages and one per later page of all lists;
	// one list after another would be 1 + 5×3 = 16.
	if n := calls.Load(); n > 6 {
		t.Errorf("%d $batch calls, want at most 6 (4 rounds and some slack)", n)
	}
}

// While the reader is busy with the first list, the chains of the others
// fetch at most prefetchAhead pages ahead of it, not whole lists.
func TestPrefetchLeadIsBounded(t *testing.T) {
	const lists, pages = 3, 100
	defer func(n int) { prefetchAhead = n }(prefetchAhead)
	prefetchAhead = 8
	var served atomic.Int32
	var base string
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		list := strings.TrimPrefix(r.URL.Path, "/v1.0/lists/")
		n, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		next := ""
		if n < pages-1 {
			next = fmt.Sprintf(`,"@odata.nextLink":"%s/v1.0/lists/%s?$skiptoken=%d"`, base, list, n+1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"value":[{"id":"%s-%d"}]%s}`, list, n, next)
	})
	c := newTestClient(t, unbatch(inner))
	base = c.root
	r := newReader(c, &model.Tenant{}, nil)
	var q reads
	busy := make(chan struct{})
	var ahead int32
	counts := make([]int, lists)
	for i := range lists {
		q.add(fmt.Sprintf("/lists/l%d", i), func(body []byte) error {
			if i == 0 {
				time.Sleep(200 * time.Millisecond) // the chains run meanwhile
				ahead = served.Load()
				close(busy)
			}
			all, err := listAll[struct{ ID string }](context.Background(), c, body, nil)
			counts[i] = len(all)
			return err
		})
	}
	if err := r.run(context.Background(), &q); err != nil {
		t.Fatal(err)
	}
	<-busy
	for i, n := range counts {
		if n != pages {
			t.Errorf("list %d: %d values, want %d", i, n, pages)
		}
	}
	// The first pages, and at most prefetchAhead more (and one per chain
	// on its way when the slots ran out).
	if max := int32(lists + prefetchAhead + lists); ahead > max {
		t.Errorf("%d pages fetched while the reader was busy, want at most %d", ahead, max)
	}
}
