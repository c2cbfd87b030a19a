package graph

import (
	"bytes"
	"encoding/json"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// decodeJSON decodes the large answers (pages of a collection, $batch
// envelopes, delta pages) with encoding/json/v2's implementation, which
// decodes a page of directory objects in a third of encoding/json's time:
// at a million members that was most of a plan's CPU. The options keep
// encoding/json's leniency (names matched without regard to case,
// duplicate names and invalid UTF-8 let through), so every answer decodes
// to what json.Unmarshal made of it. github.com/go-json-experiment/json is
// the module the standard library's encoding/json/v2 grew from; from Go
// 1.27 it is an alias of it.
func decodeJSON(body []byte, v any) error {
	return jsonv2.Unmarshal(body, v, lenient)
}

var lenient = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true), // ("display_name" is not displayName)
	jsonv1.MergeWithLegacySemantics(true),    // (a repeated name replaces, as in encoding/json)
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// decodeSharing is decodeJSON, with every json.RawMessage in v a slice of
// body rather than a copy of it: a $batch answer's sub-responses are most
// of its bytes (20 pages of a member list), and copying them doubled what a
// large read allocates. The slices keep body alive as long as any of them.
func decodeSharing(body []byte, v any) error {
	share := jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, raw *json.RawMessage) error {
		val, err := dec.ReadValue()
		if err != nil {
			return err
		}
		end := dec.InputOffset()
		if start := end - int64(len(val)); start >= 0 && bytes.Equal(body[start:end], val) {
			*raw = body[start:end:end]
		} else {
			*raw = bytes.Clone(val) // (a decoder that reformats: never so today)
		}
		return nil
	})
	return jsonv2.Unmarshal(body, v, lenient, jsonv2.WithUnmarshalers(share))
}
