using ChatPortal.Core.Configuration;
using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace ChatPortal.Security;

/// <summary>The <c>ChatPortal:Security</c> section: who may speak for the client, what pages may load, sign-in throttling.</summary>
public sealed class SecurityOptions
{
    public const string SectionName = "ChatPortal:Security";

    /// <summary>
    /// Balancers whose <c>X-Forwarded-For</c>/<c>-Proto</c>/<c>-Host</c> are believed: IP addresses or CIDR networks
    /// (<c>127.0.0.1</c>, <c>172.16.0.0/12</c>). Empty trusts nobody: a client's own forwarded headers are ignored.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>How many trusted balancers stand in a row in front of a node (one nginx: 1).</summary>
    [Range(1, 10)]
    public int ForwardLimit { get; set; } = 1;

    /// <summary>
    /// Let answers show images from other https origins. Off by default: an image URL that a prompt injection
    /// writes into an answer would otherwise carry chat text to a foreign server.
    /// </summary>
    public bool AllowExternalImages { get; set; }

    public SignInThrottleOptions SignIn { get; set; } = new();

    /// <summary>
    /// Origins besides this one that a form may lead to, its redirects included (the Content-Security-Policy's
    /// <c>form-action</c>): an OpenID Connect provider adds its own, since its sign-in button's post is redirected there.
    /// Not a setting: the features that need it add to it.
    /// </summary>
    internal List<string> FormActionOrigins { get; } = [];

    /// <summary>The parsed <see cref="TrustedProxies"/> (valid after validation).</summary>
    public IReadOnlyList<IPNetwork> TrustedNetworks() => TrustedProxies.Select(p => TryParseNetwork(p, out var network) ? network : throw new FormatException(p)).ToList();

    internal static bool TryParseNetwork(string value, out IPNetwork network)
    {
        var text = value.Trim();
        if (IPNetwork.TryParse(text, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }
}

/// <summary>Exponential backoff on failed admin sign-ins, per account name and per client address, cluster-wide.</summary>
public sealed class SignInThrottleOptions
{
    /// <summary>Failures allowed within <see cref="WindowSeconds"/> before each further one waits.</summary>
    [Range(1, 1000)]
    public int FreeFailures { get; set; } = 5;

    /// <summary>How long failures are remembered after the last one.</summary>
    [Range(1, 86_400)]
    public int WindowSeconds { get; set; } = 900;

    /// <summary>The longest wait (the first is 1 s, then 2, 4, … up to this).</summary>
    [Range(1, 3600)]
    public int MaxBackoffSeconds { get; set; } = 60;
}

/// <summary>Names each bad key the way an operator writes it, like <c>ChatPortalOptionsValidator</c>.</summary>
public sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.TrustedProxies.Count; i++)
        {
            if (!SecurityOptions.TryParseNetwork(options.TrustedProxies[i] ?? "", out _))
            {
                failures.Add($"{SecurityOptions.SectionName}:TrustedProxies:{i} must be an IP address or a CIDR network like 10.0.0.0/8 (got '{options.TrustedProxies[i]}').");
            }
        }

        ChatPortalOptionsValidator.Annotations(options, SecurityOptions.SectionName, failures);
        ChatPortalOptionsValidator.Annotations(options.SignIn, $"{SecurityOptions.SectionName}:SignIn", failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
