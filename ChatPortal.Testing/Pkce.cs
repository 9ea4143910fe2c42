using System.Security.Cryptography;
using System.Text;

namespace ChatPortal.Testing;

/// <summary>Proof Key for Code Exchange (RFC 7636), S256 only: what a client sends and what a provider checks.</summary>
public static class Pkce
{
    public const string Method = "S256";

    /// <summary>A new random verifier (43 characters of the unreserved set).</summary>
    public static string NewVerifier() => OidcSigningKey.Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Challenge(string verifier) => OidcSigningKey.Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>Whether <paramref name="verifier"/> is well formed (43–128 unreserved characters) and hashes to <paramref name="challenge"/>.</summary>
    public static bool Verify(string? verifier, string challenge)
    {
        if (verifier is null || verifier.Length is < 43 or > 128 || !verifier.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Challenge(verifier)), Encoding.ASCII.GetBytes(challenge));
    }
}
