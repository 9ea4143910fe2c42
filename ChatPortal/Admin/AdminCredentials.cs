using System.Security.Cryptography;
using System.Text;
using ChatPortal.Core.Configuration;
using Microsoft.Extensions.Options;

namespace ChatPortal.Admin;

/// <summary>Checks admin credentials in constant time (hashes compared with FixedTimeEquals).</summary>
public sealed class AdminCredentials(IOptionsMonitor<ChatPortalOptions> options)
{
    public bool Verify(string? username, string? password)
    {
        var admin = options.CurrentValue.Admin;
        if (string.IsNullOrEmpty(admin.Password))
        {
            return false;
        }

        var userOk = Same(username ?? "", admin.Username);
        var passwordOk = Same(password ?? "", admin.Password);
        return userOk & passwordOk;
    }

    private static bool Same(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
