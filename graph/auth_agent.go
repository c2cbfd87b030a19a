package graph

// Running as an agent identity. An agent identity (Microsoft Entra Agent
// ID) has no credentials of its own; its blueprint signs it in, in two
// steps:
//
//  1. The blueprint asks for a token for api://AzureADTokenExchange with
//     its own credential (secret, certificate or federated token) and
//     fmi_path = the agent identity's appId. The token's subject ends in
//     that path, so one blueprint token serves one agent identity.
//  2. The agent identity asks for the Graph token with the blueprint token
//     as its client assertion (jwt-bearer). The Graph token carries the
//     agent identity's own application permissions in "roles" and the
//     blueprint in xms_par_app_azp.
//
// Step 1 uses MSAL's confidential client (WithFMIPath; the blueprint token
// is cached per fmi_path), step 2 azidentity's ClientAssertionCredential,
// which caches the Graph token and asks for a new assertion only when it
// needs a new token.

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// BlueprintCredential is the agent identity blueprint's own credential:
// exactly one of a client secret, a certificate with its private key, or a
// function returning a federated token (client assertion).
type BlueprintCredential struct {
	Secret       string
	Certificates []*x509.Certificate
	Key          crypto.PrivateKey
	Assertion    func(context.Context) (string, error)
}

// AgentIdentityCredentialOptions configure NewAgentIdentityCredential.
type AgentIdentityCredentialOptions struct {
	// ClientOptions: Cloud.ActiveDirectoryAuthorityHost selects the
	// authority (public cloud when empty); Transport, when an
	// *http.Client, also carries the blueprint's token requests.
	azcore.ClientOptions
	// DisableInstanceDiscovery: see azidentity; set it for authorities
	// that are not Microsoft's (graphsim).
	DisableInstanceDiscovery bool
}

var _ azcore.TokenCredential = (*AgentIdentityCredential)(nil)

// AgentIdentityCredential signs in as an agent identity through its
// blueprint (see the file comment). It implements azcore.TokenCredential.
type AgentIdentityCredential struct {
	agentID   string
	blueprint confidential.Client
	inner     *azidentity.ClientAssertionCredential
}

// NewAgentIdentityCredential builds the credential of agent identity
// agentID (its appId), whose blueprint has the appId blueprintID and the
// credential bp, in tenant tenantID.
func NewAgentIdentityCredential(tenantID, blueprintID, agentID string, bp BlueprintCredential, o *AgentIdentityCredentialOptions) (*AgentIdentityCredential, error) {
	if o == nil {
		o = &AgentIdentityCredentialOptions{}
	}
	if tenantID == "" || blueprintID == "" || agentID == "" {
		return nil, errors.New("agent identity: tenant, blueprint client id and agent identity id are all required")
	}
	var cred confidential.Credential
	var err error
	switch {
	case bp.Assertion != nil:
		get := bp.Assertion
		cred = confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
			return get(ctx)
		})
	case len(bp.Certificates) > 0 && bp.Key != nil:
		cred, err = confidential.NewCredFromCert(bp.Certificates, bp.Key)
	case bp.Secret != "":
		cred, err = confidential.NewCredFromSecret(bp.Secret)
	default:
		return nil, errors.New("agent identity: the blueprint needs a credential (federated token, certificate or secret)")
	}
	if err != nil {
		return nil, fmt.Errorf("agent identity: blueprint credential: %w", err)
	}
	host := o.Cloud.ActiveDirectoryAuthorityHost
	if host == "" {
		host = cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	authority := strings.TrimRight(host, "/") + "/" + tenantID
	mopts := []confidential.Option{confidential.WithInstanceDiscovery(!o.DisableInstanceDiscovery)}
	if hc, ok := o.Transport.(*http.Client); ok && hc != nil {
		mopts = append(mopts, confidential.WithHTTPClient(hc))
	}
	client, err := confidential.New(authority, blueprintID, cred, mopts...)
	if err != nil {
		return nil, fmt.Errorf("agent identity: blueprint client: %w", err)
	}
	c := &AgentIdentityCredential{agentID: agentID, blueprint: client}
	c.inner, err = azidentity.NewClientAssertionCredential(tenantID, agentID, c.blueprintToken, &azidentity.ClientAssertionCredentialOptions{
		ClientOptions: o.ClientOptions, DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	})
	if err != nil {
		return nil, fmt.Errorf("agent identity: %w", err)
	}
	return c, nil
}

// blueprintToken is step 1: the blueprint's token exchange token for this
// agent identity.
func (c *AgentIdentityCredential) blueprintToken(ctx context.Context) (string, error) {
	res, err := c.blueprint.AcquireTokenByCredential(ctx, []string{TokenExchangeScope}, confidential.WithFMIPath(c.agentID))
	if err != nil {
		return "", fmt.Errorf("agent identity: blueprint token (fmi_path %s): %w", c.agentID, err)
	}
	return res.AccessToken, nil
}

// GetToken is step 2: the agent identity's token, with the blueprint token
// as client assertion.
func (c *AgentIdentityCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return c.inner.GetToken(ctx, opts)
}
