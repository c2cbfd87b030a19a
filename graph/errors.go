package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Error is an error answer from Graph. It keeps what a person needs to find
// the request in Microsoft's logs: the status, Graph's code and request-id.
type Error struct {
	Method    string
	Path      string
	Status    int
	Code      string
	Message   string
	RequestID string
	Date      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("graph: %s %s: %s", e.Method, e.Path, e.answer())
}

// answer is the status, Graph's code and message, request-id and date.
func (e *Error) answer() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request-id %s", e.RequestID)
		if e.Date != "" {
			fmt.Fprintf(&b, ", date %s", e.Date)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Terminal reports whether retrying cannot help: every 4xx but 429.
func (e *Error) Terminal() bool { return !retryableStatus(e.Status) }

// IsNotFound reports whether err is Graph's 404: the object does not exist,
// or is not visible yet after its creation.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsKeyTaken reports whether Graph refused a create because another object
// already holds one of its unique keys (a group's uniqueName, say): 400
// Request_MultipleObjectsWithSameKeyValue. The object that holds it is left
// as it was.
func IsKeyTaken(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && e.Code == "Request_MultipleObjectsWithSameKeyValue"
}

// isAlreadyExists recognises Graph's answer to adding a reference that is
// already there. Graph has no dedicated code for it, so the message is the
// last resort, as Microsoft's own guidance says.
func isAlreadyExists(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(e.Message), "already exist")
}

// isRefGone recognises the answer to removing a reference that is not there.
func isRefGone(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Status == http.StatusNotFound ||
		(e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "do not exist"))
}

// errorBody is Graph's error shape.
type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
			Date      string `json:"date"`
		} `json:"innerError"`
	} `json:"error"`
}

// newError builds an *Error from a status and a raw Graph error body.
func newError(method, path string, status int, body []byte, requestID string) *Error {
	e := &Error{Method: method, Path: path, Status: status, RequestID: requestID}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
		if eb.Error.InnerError.RequestID != "" {
			e.RequestID = eb.Error.InnerError.RequestID
		}
		e.Date = eb.Error.InnerError.Date
	}
	if e.Message == "" && e.Code == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// fromSDK converts an error returned by a typed msgraph-sdk-go call.
func fromSDK(method, path string, err error) error {
	if err == nil {
		return nil
	}
	var re *RetryError
	if errors.As(err, &re) {
		// Given up on by the transport; it names the request itself.
		return re
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		e := &Error{Method: method, Path: path, Status: oe.ResponseStatusCode}
		if main := oe.GetErrorEscaped(); main != nil {
			e.Code = deref(main.GetCode())
			e.Message = deref(main.GetMessage())
			if inner := main.GetInnerError(); inner != nil {
				e.RequestID = deref(inner.GetRequestId())
				if d := inner.GetDate(); d != nil {
					// Graph's date has no zone; the parser read it as local
					// time, so printing it in local time restores Graph's text.
					e.Date = d.Format("2006-01-02T15:04:05")
				}
			}
		}
		if e.RequestID == "" && oe.ResponseHeaders != nil {
			if v := oe.ResponseHeaders.Get("request-id"); len(v) > 0 {
				e.RequestID = v[0]
			}
		}
		return e
	}
	// An answer without a JSON error body (an empty 404, an HTML 502 from a
	// gateway) arrives as a plain ApiError; keep its status.
	var ae *abs.ApiError
	if errors.As(err, &ae) && ae.ResponseStatusCode != 0 {
		return &Error{Method: method, Path: path, Status: ae.ResponseStatusCode, Message: http.StatusText(ae.ResponseStatusCode)}
	}
	return fmt.Errorf("graph: %s %s: %w", method, path, err)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
