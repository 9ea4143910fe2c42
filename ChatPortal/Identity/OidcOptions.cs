using Microsoft.Extensions.Options;

namespace ChatPortal.Identity;

/// <summary>
/// The <c>ChatPortal:Authentication:Oidc</c> section: sign-in through an outside OpenID Connect provider
/// (authorization code flow with PKCE). Off while <see cref="Authority"/> is empty.
/// </summary>
public sealed class OidcOptions
{
    public const string SectionName = "ChatPortal:Authentication:Oidc";

    /// <summary>The provider's issuer URL; its discovery document is read from <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    /// <summary>The client secret; empty for a public client (PKCE alone).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The provider's name on the sign-in button: "Sign in with {DisplayName}".</summary>
    public string DisplayName { get; set; } = "OpenID Connect";

    /// <summary>Refuse an authority (and its metadata) that is not https. Only a test or a local provider turns this off.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}

/// <summary>Names each bad key the way an operator writes it.</summary>
public sealed class OidcOptionsValidator : IValidateOptions<OidcOptions>
{
    public ValidateOptionsResult Validate(string? name, OidcOptions options)
    {
        const string root = OidcOptions.SectionName;
        var failures = new List<string>();
        if (!options.Enabled)
        {
            if (!string.IsNullOrWhiteSpace(options.ClientId) || !string.IsNullOrWhiteSpace(options.ClientSecret))
            {
                failures.Add($"{root}:Authority is required when {root}:ClientId or {root}:ClientSecret is set.");
            }

            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }

        if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority) || authority.Scheme is not ("https" or "http"))
        {
            failures.Add($"{root}:Authority must be an absolute https URL (got '{options.Authority}').");
        }
        else if (authority.Scheme == "http" && options.RequireHttpsMetadata)
        {
            failures.Add($"{root}:Authority must be https (got '{options.Authority}'); only a local test provider may use http, with {root}:RequireHttpsMetadata=false.");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add($"{root}:ClientId is required when {root}:Authority is set.");
        }

        if (string.IsNullOrWhiteSpace(options.DisplayName) || options.DisplayName.Length > 40)
        {
            failures.Add($"{root}:DisplayName must be 1 to 40 characters (got '{options.DisplayName}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
