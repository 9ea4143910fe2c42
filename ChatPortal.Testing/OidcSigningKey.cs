using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ChatPortal.Testing;

/// <summary>
/// The <see cref="OidcTestProvider"/>'s RSA key, made at start: signs tokens as compact JWS (RS256) and publishes its
/// public half as a JSON Web Key Set. Written by hand on purpose, so that the app's validation (Microsoft.IdentityModel)
/// checks an independent implementation rather than itself.
/// </summary>
public sealed class OidcSigningKey : IDisposable
{
    private readonly RSA _rsa = RSA.Create(2048);

    public string KeyId { get; } = Base64Url(RandomNumberGenerator.GetBytes(8));

    /// <summary>The signed token: <c>base64url(header).base64url(payload).base64url(signature)</c>.</summary>
    public string Sign(JsonObject payload)
    {
        var header = new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = KeyId };
        var signingInput = $"{Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString()))}.{Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()))}";
        var signature = _rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    /// <summary>The JSON Web Key Set: the public key with its id.</summary>
    public JsonObject Jwks()
    {
        var parameters = _rsa.ExportParameters(includePrivateParameters: false);
        return new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "RSA",
                ["use"] = "sig",
                ["alg"] = "RS256",
                ["kid"] = KeyId,
                ["n"] = Base64Url(parameters.Modulus!),
                ["e"] = Base64Url(parameters.Exponent!),
            }),
        };
    }

    /// <summary>The payload of a compact JWS, unverified (for tests that look at what was signed).</summary>
    public static JsonElement ReadPayload(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            throw new FormatException("A compact JWS has three parts.");
        }

        return JsonDocument.Parse(FromBase64Url(parts[1])).RootElement.Clone();
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }

    public void Dispose() => _rsa.Dispose();
}
