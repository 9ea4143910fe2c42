using System.ComponentModel.DataAnnotations;
using ChatPortal.Core.Configuration;
using Microsoft.Extensions.Options;

namespace ChatPortal.Accounts;

/// <summary>The <c>ChatPortal:Accounts</c> section: who may use the portal without an account, and how sessions and locks behave.</summary>
public sealed class AccountOptions
{
    public const string SectionName = "ChatPortal:Accounts";

    /// <summary>
    /// Anonymous use (the default): a browser or API client without an account gets an anonymous identity. Off:
    /// everything but signing in and signing up needs an account (pages redirect to <c>/login</c>, the API answers 401).
    /// </summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary>
    /// How often a signed-in session (its cookie on each request, an open page's circuit in the background) is checked
    /// against the account: a password change, a revoked role or an admin's reset ends the account's other sessions
    /// within this time.
    /// </summary>
    [Range(1, 86_400)]
    public int SessionRevalidationSeconds { get; set; } = 60;

    /// <summary>Wrong passwords in a row that lock an account (counted in the database, so on every node together).</summary>
    [Range(1, 1000)]
    public int LockoutFailures { get; set; } = 5;

    /// <summary>How long a locked account stays locked.</summary>
    [Range(1, 1440)]
    public int LockoutMinutes { get; set; } = 5;

    /// <summary>How long a password reset link that an admin issued stays valid (it works once).</summary>
    [Range(1, 720)]
    public int ResetLinkHours { get; set; } = 24;

    /// <summary>Shortest password accepted at sign-up and password change.</summary>
    [Range(6, 128)]
    public int MinPasswordLength { get; set; } = 8;
}

public sealed class AccountOptionsValidator : IValidateOptions<AccountOptions>
{
    public ValidateOptionsResult Validate(string? name, AccountOptions options)
    {
        var failures = new List<string>();
        ChatPortalOptionsValidator.Annotations(options, AccountOptions.SectionName, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
