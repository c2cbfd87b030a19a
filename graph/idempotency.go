package graph

import (
	"context"
	"net/http"
)

// Most of entrasync's writes are idempotent by construction (upserts,
// reference adds and removes, PATCH, PUT, DELETE), so the transport may send
// them again after a lost connection. A plain POST that creates an object
// (a catalog, an access package, a policy, an assignment request, an
// invitation) is not: sent twice, it creates twice. Such requests are marked
// with createOnce; for them the transport retries only answers that say the
// request was not processed (429 and 503), never a lost connection or an
// ambiguous 500/502/504. The caller then learns that the create may have
// happened (ErrMaybeCreated) and looks the object up before trying again.

type createOnceKey struct{}

// createOnce marks ctx's request as a non-idempotent create.
func createOnce(ctx context.Context) context.Context {
	return context.WithValue(ctx, createOnceKey{}, true)
}

func isCreateOnce(ctx context.Context) bool {
	v, _ := ctx.Value(createOnceKey{}).(bool)
	return v
}

// retryCreate says whether a non-idempotent create may be sent again.
func retryCreate(resp *http.Response, err error) bool {
	if err != nil || resp == nil {
		return false
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
}
