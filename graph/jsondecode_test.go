package graph

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// decodeObjectPage reads pages with encoding/json/v2 and lenient options;
// what it makes of a page must be what encoding/json makes of it, for every
// shape Graph may send: nulls,
// escapes, names in another case, nested and unknown members, other
// @odata.types, a mail that is or is not the userPrincipalName, and the
// next link before or after the values.
func TestObjectPagesDecodeAsEncodingJSONDoes(t *testing.T) {
	pages := []string{
		`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects","@odata.nextLink":"https://graph.microsoft.com/v1.0/groups/1/members?$skiptoken=X%27a","value":[` +
			`{"@odata.type":"#microsoft.graph.user","id":"1F1A6D2C-0000-4000-8000-000000000001","displayName":"Ad\u00e9le \"AV\" Vance","userPrincipalName":"AdeleV@contoso.com","mail":"AdeleV@contoso.com"},` +
			`{"@odata.type":"#microsoft.graph.group","id":"g2","displayName":"Sales","mail":null,"userPrincipalName":null,"groupTypes":["Unified"],"extra":{"nested":[1,{"id":"not-me"}]}},` +
			`{"@odata.type":"#microsoft.graph.servicePrincipal","id":"sp3","appId":"00000003-0000-0000-c000-000000000000","displayName":"Microsoft Graph"},` +
			`{"@odata.type":"#microsoft.graph.orgContact","ID":"c4","DisplayName":"Contact","Mail":"c@fabrikam.com"},` +
			`{"@odata.type":"#microsoft.graph.some\u0054ype","id":"x5","mail":"x@contoso.com","userPrincipalName":"X@contoso.com"},` +
			`{"id":"u6","mail":"a\\b@contoso.com","userPrincipalName":"a\\b@contoso.com","accountEnabled":true,"createdDateTime":"2024-01-01T00:00:00Z"}` +
			`]}`,
		`{"value":[],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=2"}`,
		`{"value":null}`,
		`{"@odata.count":3}`,
		` { "value" : [ { "id" : "spaced" , "userPrincipalName" : "s@contoso.com" , "mail" : "s@contoso.com" } ] } `,
	}
	for i, body := range pages {
		var want page[objectJSON]
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("page %d: encoding/json: %v", i, err)
		}
		got, err := decodeObjectPage([]byte(body))
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if len(want.Value) == 0 && len(got.Value) == 0 {
			want.Value, got.Value = nil, nil // (only ranged over)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("page %d (-encoding/json +decodeObjectPage):\n%s", i, d)
		}
	}
	// What is not a page is an error, as it is for encoding/json.
	for _, bad := range []string{`[]`, `{"value":{}}`, `{"value":[{"id":1}]}`, `{"value":[`} {
		if _, err := decodeObjectPage([]byte(bad)); err == nil {
			t.Errorf("%s: decoded without an error", bad)
		}
	}
}

// TestDecodeSharingSlicesTheBody holds the $batch envelope's decoding to
// decodeJSON's answer, its sub-responses' bodies slices of the answer
// itself rather than copies.
func TestDecodeSharingSlicesTheBody(t *testing.T) {
	body := []byte(`{"responses":[{"id":"1","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[{"id":"a", "x":[1, 2]}]}},` +
		` {"id":"2","status":404,"body": {"error":{"code":"Request_ResourceNotFound","message":"gone"}} }, {"id":"3","status":204}]}`)
	type envelope struct {
		Responses []batchResult `json:"responses"`
	}
	var want, got envelope
	if err := decodeJSON(body, &want); err != nil {
		t.Fatal(err)
	}
	if err := decodeSharing(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Responses) != 3 {
		t.Fatalf("%d responses, want 3", len(got.Responses))
	}
	for i, r := range got.Responses {
		w := want.Responses[i]
		if r.ID != w.ID || r.Status != w.Status || !bytes.Equal(r.Body, w.Body) || !maps.Equal(r.Headers, w.Headers) {
			t.Errorf("response %d = %+v, want %+v", i, r, w)
		}
		if len(r.Body) == 0 {
			continue
		}
		if !bytes.Contains(body, r.Body) || &r.Body[0] != &body[bytes.Index(body, r.Body)] {
			t.Errorf("response %d's body is a copy, not a slice of the answer", i)
		}
		if cap(r.Body) != len(r.Body) {
			t.Errorf("response %d's body can be appended to over the rest of the answer", i)
		}
	}
	if err := decodeSharing([]byte(`{"responses":[{"id":"1","body":{"value":[}]}`), &got); err == nil {
		t.Error("a malformed answer decoded")
	}
}

// FuzzPlainPageDecodesAsBefore holds plainPage to what decodeJSON makes
// of a page: where it takes a page, the same values and next link, and it
// takes only what decodeJSON decodes. The seeds are the shapes it takes
// and those it must leave to decodeJSON.
func FuzzPlainPageDecodesAsBefore(f *testing.F) {
	for _, seed := range []string{
		`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id,displayName,userPrincipalName,mail)","value":[` +
			`{"@odata.type":"#microsoft.graph.user","id":"1f1a6d2c-0000-4000-8000-000000000001","displayName":"Adele Vance","userPrincipalName":"AdeleV@contoso.com","mail":"AdeleV@contoso.com"},` +
			`{"@odata.type":"#microsoft.graph.group","id":"g2","displayName":"Sales","mail":null,"userPrincipalName":null},` +
			`{"@odata.type":"#microsoft.graph.orgContact","ID":"c4","DisplayName":"Contact","MAIL":"c@fabrikam.com"}` +
			`],"@odata.nextLink":"https://graph.microsoft.com/v1.0/groups/1/members?$skiptoken=X%27a"}`,
		`{"value":[{"id":"a","id":"b","mail":"m","mail":null,"Id":"c"}],"@ODATA.NEXTLINK":"n","@odata.nextLink":null}`,
		` { "value" : [ { "id" : "spaced" , "mail" : "" } , {} ] } ` + "\n",
		`{"value":[]}`,
		`{"value":[{"id":"x","accountEnabled":true}]}`,
		`{"value":[{"id":"x","extra":{"id":"not-me"}}]}`,
		`{"value":[{"id":"x","displayName":"Ad\u00e9le"}]}`,
		`{"value":[{"id":"x","displayName":"Adéle"}]}`,
		"{\"value\":[{\"id\":\"\xff\"}]}",
		`{"value":[{"id":1}]}`,
		`{"value":[{"id":"x"}],"value":[{"id":"y"}]}`,
		`{"value":null}`,
		`{"@odata.count":3,"value":[]}`,
		`{"value":[{"id":"x"},]}`,
		`{"value":[{"id":"x"}],}`,
		`{"value":[{"id":"x"}]} {}`,
		`{"value":[{"id":"x"}]`,
		`{"value":[{"id":"x" "mail":"y"}]}`,
		`{"value":[{"id":nul}]}`,
		`{}`,
		`[]`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var got page[objectJSON]
		if !plainPage([]byte(body), &got) {
			return
		}
		var want page[objectJSON]
		if err := decodeJSON([]byte(body), &want); err != nil {
			t.Fatalf("%s: plainPage took a page decodeJSON fails on: %v", body, err)
		}
		if len(want.Value) == 0 && len(got.Value) == 0 {
			want.Value, got.Value = nil, nil // (only ranged over)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-decodeJSON +plainPage):\n%s", body, d)
		}
	})
}

// TestPlainPagesDecodeIntoOneStringAnObject holds a member page to
// plainPage: it takes the page, and each object is one string, its
// @odata.type the known constant and a mail equal to its UPN the UPN
// itself.
func TestPlainPagesDecodeIntoOneStringAnObject(t *testing.T) {
	body := memberPage("", 0, 3, 10)
	var p page[objectJSON]
	if !plainPage(body, &p) {
		t.Fatalf("plainPage did not take a member page:\n%s", body)
	}
	if len(p.Value) != 3 || p.NextLink == "" {
		t.Fatalf("decoded %d objects and next link %q", len(p.Value), p.NextLink)
	}
	o := p.Value[1]
	want := objectJSON{Type: "#microsoft.graph.user", ID: "00000001-0000-4000-8000-000000000001", DisplayName: "User 1", UserPrincipalName: "user000001@contoso.com", Mail: "user000001@contoso.com"}
	if o != want {
		t.Fatalf("decoded %+v, want %+v", o, want)
	}
	if unsafe.StringData(o.Type) != unsafe.StringData(knownTypes[0]) {
		t.Error("the @odata.type is a copy, not the constant")
	}
	if unsafe.StringData(o.Mail) != unsafe.StringData(o.UserPrincipalName) {
		t.Error("the mail is a copy of the UPN")
	}
	if id, name := unsafe.StringData(o.ID), unsafe.StringData(o.DisplayName); uintptr(unsafe.Pointer(name)) != uintptr(unsafe.Pointer(id))+uintptr(len(o.ID)) {
		t.Error("the id and display name are not one string")
	}
	values := make([]objectJSON, 0, 3)
	allocs := testing.AllocsPerRun(100, func() {
		p := page[objectJSON]{Value: values}
		plainPage(body, &p)
	})
	if allocs != 4 { // an object's string each, the next link
		t.Errorf("a page of 3 plain objects takes %v allocations, want 4", allocs)
	}
}
