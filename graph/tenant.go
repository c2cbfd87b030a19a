package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/entrasync/entrasync/model"
)

// AuthorityHost is the sign-in authority entrasync's credentials use:
// AZURE_AUTHORITY_HOST when set (graphsim, sovereign clouds), else the
// public cloud's, always ending in a slash.
func AuthorityHost() string {
	host := strings.TrimSpace(os.Getenv(EnvAuthorityHost))
	if host == "" {
		host = cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	if !strings.HasSuffix(host, "/") {
		host += "/"
	}
	return host
}

// TenantIDOf resolves a tenant's domain to its tenant id through the
// authority's public OpenID metadata (GET {authority}/{domain}/v2.0/
// .well-known/openid-configuration): the issuer names the tenant id. It
// needs no token and no permission, so it works with the least-privileged
// permission set, where GET /organization (Directory.Read.All) does not.
func TenantIDOf(ctx context.Context, client *http.Client, authority, domain string) (string, error) {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	u := strings.TrimSuffix(authority, "/") + "/" + url.PathEscape(domain) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("resolve tenant %s: %w", domain, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var meta struct {
		Issuer   string `json:"issuer"`
		Error    string `json:"error"`
		ErrorMsg string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &meta)
	if resp.StatusCode != http.StatusOK {
		if meta.Error != "" {
			msg, _, _ := strings.Cut(meta.ErrorMsg, "\r\n")
			return "", fmt.Errorf("resolve tenant %s: %d %s: %s", domain, resp.StatusCode, meta.Error, msg)
		}
		return "", fmt.Errorf("resolve tenant %s: %s answered %d", domain, u, resp.StatusCode)
	}
	// issuer is https://login.microsoftonline.com/{tid}/v2.0
	iu, err := url.Parse(meta.Issuer)
	if err != nil {
		return "", fmt.Errorf("resolve tenant %s: issuer %q is not a URL", domain, meta.Issuer)
	}
	for _, seg := range strings.Split(strings.Trim(iu.Path, "/"), "/") {
		if model.IsGUID(seg) {
			return strings.ToLower(seg), nil
		}
	}
	return "", fmt.Errorf("resolve tenant %s: issuer %q names no tenant id", domain, meta.Issuer)
}
